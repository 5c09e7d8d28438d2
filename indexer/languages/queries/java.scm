; Java: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-java's tags.scm.

(class_declaration name: (identifier) @name.definition.class) @definition.class
(record_declaration name: (identifier) @name.definition.class) @definition.class
(interface_declaration name: (identifier) @name.definition.interface) @definition.interface
(annotation_type_declaration name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum
(method_declaration name: (identifier) @name.definition.method) @definition.method
(constructor_declaration name: (identifier) @name.definition.method) @definition.method
(class_body (field_declaration
  declarator: (variable_declarator name: (identifier) @name.definition.field)) @definition.field)

(superclass [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherit)
(super_interfaces (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherit))
(extends_interfaces (type_list [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherit))

(method_invocation name: (identifier) @name.reference.call)
(object_creation_expression type: [(type_identifier) @name.reference.call
                                   (generic_type (type_identifier) @name.reference.call)])

(type_identifier) @name.reference.type

(import_declaration [(identifier) (scoped_identifier)] @import.module)
