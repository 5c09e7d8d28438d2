; PHP: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-php's tags.scm.

(class_declaration name: (name) @name.definition.class) @definition.class
(interface_declaration name: (name) @name.definition.interface) @definition.interface
(trait_declaration name: (name) @name.definition.trait) @definition.trait
(enum_declaration name: (name) @name.definition.enum) @definition.enum
(function_definition name: (name) @name.definition.function) @definition.function
(method_declaration name: (name) @name.definition.method) @definition.method
(property_declaration (property_element name: (variable_name (name) @name.definition.field))) @definition.field
(const_declaration (const_element (name) @name.definition.constant)) @definition.constant

(base_clause [(name) (qualified_name)] @name.reference.inherit)
(class_interface_clause [(name) (qualified_name)] @name.reference.inherit)
(use_declaration [(name) (qualified_name)] @name.reference.inherit)

(function_call_expression function: [(name) (qualified_name)] @name.reference.call)
(member_call_expression name: (name) @name.reference.call)
(scoped_call_expression name: (name) @name.reference.call)
(object_creation_expression [(name) (qualified_name)] @name.reference.call)
(named_type [(name) (qualified_name)] @name.reference.type)

(namespace_use_declaration (namespace_use_clause [(name) (qualified_name)] @import.module))
(namespace_use_declaration
  (namespace_name) @import.module
  (namespace_use_group (namespace_use_clause . [(name) (qualified_name)] @import.name)))
(require_expression [(string) (encapsed_string)] @import.module)
(require_expression (binary_expression right: [(string) (encapsed_string)] @import.module))
(require_once_expression [(string) (encapsed_string)] @import.module)
(require_once_expression (binary_expression right: [(string) (encapsed_string)] @import.module))
(include_expression [(string) (encapsed_string)] @import.module)
(include_expression (binary_expression right: [(string) (encapsed_string)] @import.module))
(include_once_expression [(string) (encapsed_string)] @import.module)
(include_once_expression (binary_expression right: [(string) (encapsed_string)] @import.module))
