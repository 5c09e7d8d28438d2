; Scala: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-scala's tags.scm.

(class_definition name: (identifier) @name.definition.class) @definition.class
(object_definition name: (identifier) @name.definition.class) @definition.class
(trait_definition name: (identifier) @name.definition.trait) @definition.trait
(enum_definition name: (identifier) @name.definition.enum) @definition.enum
(function_definition name: (identifier) @name.definition.function) @definition.function
(function_declaration name: (identifier) @name.definition.function) @definition.function
(type_definition name: (type_identifier) @name.definition.type) @definition.type
(template_body (val_definition pattern: (identifier) @name.definition.field) @definition.field)
(compilation_unit (val_definition pattern: (identifier) @name.definition.variable) @definition.variable)

(extends_clause [(type_identifier) (generic_type) (stable_type_identifier)] @name.reference.inherit)

(call_expression function: [
  (identifier) @name.reference.call
  (field_expression field: (identifier) @name.reference.call)
])
(instance_expression (type_identifier) @name.reference.call)

(type_identifier) @name.reference.type

(import_declaration (namespace_selectors [(identifier) @import.name
                                          (arrow_renamed_identifier name: (identifier) @import.name)])) @import.module
(import_declaration) @import.module
