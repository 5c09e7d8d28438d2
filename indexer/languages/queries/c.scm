; C: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-c's tags.scm.

(function_definition declarator: [
  (function_declarator declarator: (_) @name.definition.function)
  (pointer_declarator declarator: (function_declarator declarator: (_) @name.definition.function))
  (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (_) @name.definition.function)))
]) @definition.function

(translation_unit (declaration declarator: [
  (function_declarator declarator: (identifier) @name.definition.function)
  (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
]) @definition.function)

(type_definition
  type: [(struct_specifier !name) (union_specifier !name)]
  declarator: (type_identifier) @name.definition.struct) @definition.struct
(type_definition
  type: (enum_specifier !name)
  declarator: (type_identifier) @name.definition.enum) @definition.enum
(type_definition
  type: [(struct_specifier name: (_)) (union_specifier name: (_)) (enum_specifier name: (_))]
  declarator: (type_identifier) @name.definition.type @definition.type)
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier)]
  declarator: (type_identifier) @name.definition.type) @definition.type

(struct_specifier name: (type_identifier) @name.definition.struct body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name.definition.struct body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
(field_declaration declarator: (field_identifier) @name.definition.field) @definition.field

(preproc_def name: (identifier) @name.definition.macro) @definition.macro
(preproc_function_def name: (identifier) @name.definition.macro) @definition.macro

(call_expression function: [
  (identifier) @name.reference.call
  (field_expression field: (field_identifier) @name.reference.call)
])

(type_identifier) @name.reference.type

(preproc_include path: (_) @import.module)
