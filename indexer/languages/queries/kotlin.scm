; Kotlin: definitions, references, imports. Conventions: indexer/languages/__init__.py
; tree-sitter-kotlin ships no tags query; written for Sextant.

(class_declaration "interface" name: (identifier) @name.definition.interface) @definition.interface
(class_declaration name: (identifier) @name.definition.class) @definition.class
(object_declaration name: (identifier) @name.definition.class) @definition.class
(function_declaration name: (identifier) @name.definition.function) @definition.function
(class_body (property_declaration (variable_declaration (identifier) @name.definition.field)) @definition.field)
(source_file (property_declaration (variable_declaration (identifier) @name.definition.variable)) @definition.variable)
(type_alias type: (identifier) @name.definition.type) @definition.type

(delegation_specifier [
  (user_type (identifier) @name.reference.inherit)
  (constructor_invocation (user_type (identifier) @name.reference.inherit))
])

(call_expression . (identifier) @name.reference.call)
(call_expression . (navigation_expression (identifier) @name.reference.call .))

(user_type (identifier) @name.reference.type)

(import (qualified_identifier) @import.module)
