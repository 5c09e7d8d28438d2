; C++: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-cpp's tags.scm; `Foo::bar` definitions get the qualname `Foo.bar`.

(function_definition declarator: [
  (function_declarator declarator: (_) @name.definition.function)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name.definition.function))
  (reference_declarator (function_declarator declarator: (_) @name.definition.function))
]) @definition.function

(field_declaration declarator: [
  (function_declarator declarator: (_) @name.definition.method)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name.definition.method))
  (reference_declarator (function_declarator declarator: (_) @name.definition.method))
]) @definition.method

(translation_unit (declaration declarator: [
  (function_declarator declarator: (identifier) @name.definition.function)
  (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
]) @definition.function)

(type_definition
  type: [(struct_specifier !name) (union_specifier !name) (class_specifier !name)]
  declarator: (type_identifier) @name.definition.struct) @definition.struct
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier)]
  declarator: (type_identifier) @name.definition.type) @definition.type
(alias_declaration name: (type_identifier) @name.definition.type) @definition.type

(class_specifier name: (_) @name.definition.class body: (_)) @definition.class
(struct_specifier name: (_) @name.definition.struct body: (_)) @definition.struct
(union_specifier name: (_) @name.definition.struct body: (_)) @definition.struct
(enum_specifier name: (_) @name.definition.enum body: (_)) @definition.enum
(namespace_definition name: (_) @name.definition.module) @definition.module
(field_declaration declarator: (field_identifier) @name.definition.field) @definition.field

(preproc_def name: (identifier) @name.definition.macro) @definition.macro
(preproc_function_def name: (identifier) @name.definition.macro) @definition.macro

(base_class_clause [(type_identifier) (qualified_identifier) (template_type)] @name.reference.inherit)

(call_expression function: [
  (identifier) @name.reference.call
  (field_expression field: (field_identifier) @name.reference.call)
  (qualified_identifier name: (identifier) @name.reference.call)
  (template_function name: (identifier) @name.reference.call)
])

(type_identifier) @name.reference.type

(preproc_include path: (_) @import.module)
(using_declaration (_) @import.module)
