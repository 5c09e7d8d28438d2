; C#: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-c-sharp's tags.scm.

(class_declaration name: (identifier) @name.definition.class) @definition.class
(record_declaration name: (identifier) @name.definition.class) @definition.class
(interface_declaration name: (identifier) @name.definition.interface) @definition.interface
(struct_declaration name: (identifier) @name.definition.struct) @definition.struct
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum
(namespace_declaration name: (_) @name.definition.module) @definition.module
(method_declaration name: (identifier) @name.definition.method) @definition.method
(constructor_declaration name: (identifier) @name.definition.method) @definition.method
(local_function_statement name: (identifier) @name.definition.function) @definition.function
(property_declaration name: (identifier) @name.definition.field) @definition.field
(field_declaration (variable_declaration (variable_declarator name: (identifier) @name.definition.field))) @definition.field
(delegate_declaration name: (identifier) @name.definition.type) @definition.type

(base_list [(identifier) (qualified_name) (generic_name)] @name.reference.inherit)

(invocation_expression function: [
  (identifier) @name.reference.call
  (member_access_expression name: (identifier) @name.reference.call)
  (generic_name (identifier) @name.reference.call)
  (member_access_expression name: (generic_name (identifier) @name.reference.call))
])
(object_creation_expression type: [(identifier) @name.reference.call
                                   (generic_name (identifier) @name.reference.call)
                                   (qualified_name name: (identifier) @name.reference.call)])

(variable_declaration type: (identifier) @name.reference.type)
(parameter type: (identifier) @name.reference.type)
(method_declaration returns: (identifier) @name.reference.type)
(property_declaration type: (identifier) @name.reference.type)
(type_argument_list (identifier) @name.reference.type)

(using_directive [(identifier) (qualified_name)] @import.module)
