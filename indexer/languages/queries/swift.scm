; Swift: definitions, references, imports. Conventions: indexer/languages/__init__.py
; `extension Foo { func bar }` gives `Foo.bar`.

(class_declaration "extension" name: (_) @name.scope) @scope
(class_declaration "struct" name: (type_identifier) @name.definition.struct) @definition.struct
(class_declaration "enum" name: (type_identifier) @name.definition.enum) @definition.enum
(class_declaration name: (type_identifier) @name.definition.class) @definition.class
(protocol_declaration name: (type_identifier) @name.definition.interface) @definition.interface
(function_declaration name: (simple_identifier) @name.definition.function) @definition.function
(protocol_function_declaration name: (simple_identifier) @name.definition.method) @definition.method
(init_declaration "init" @name.definition.method) @definition.method
(class_body (property_declaration name: (pattern bound_identifier: (simple_identifier) @name.definition.field)) @definition.field)
(source_file (property_declaration name: (pattern bound_identifier: (simple_identifier) @name.definition.variable)) @definition.variable)
(typealias_declaration name: (type_identifier) @name.definition.type) @definition.type

(inheritance_specifier inherits_from: (user_type (type_identifier) @name.reference.inherit))

(call_expression . [
  (simple_identifier) @name.reference.call
  (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @name.reference.call))
])

(user_type (type_identifier) @name.reference.type)

(import_declaration (identifier) @import.module)
