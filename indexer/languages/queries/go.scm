; Go: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-go's tags.scm; methods are qualified by their receiver type.

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name.definition.method) @definition.method

(type_spec
  name: (type_identifier) @name.definition.struct
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name.definition.interface
  type: (interface_type)) @definition.interface

(type_spec
  name: (type_identifier) @name.definition.type) @definition.type

(type_alias
  name: (type_identifier) @name.definition.type) @definition.type

(method_elem
  name: (field_identifier) @name.definition.method) @definition.method

(field_declaration
  name: (field_identifier) @name.definition.field) @definition.field

; every name of `const X, Y = 1, 2` (a `name:` field pattern matches only the first; a
; const_spec's only direct identifiers are its names)
(source_file (const_declaration
  (const_spec (identifier) @name.definition.constant) @definition.constant))

(source_file (var_declaration
  (var_spec name: (identifier) @name.definition.variable) @definition.variable))

; grouped: `var ( ErrX = ...; ErrY = ... )` wraps its specs in a list (`const ( ... )` does not)
(source_file (var_declaration (var_spec_list
  (var_spec name: (identifier) @name.definition.variable) @definition.variable)))

; embedded structs and interfaces
(field_declaration_list
  (field_declaration . type: [(type_identifier) (qualified_type) (pointer_type)] @name.reference.inherit .))

(interface_type (type_elem . [(type_identifier) (qualified_type)] @name.reference.inherit .))

; calls: a bare name (a function of the file's own package, never a method) or a selector,
; whose operand is the call's qualifier (`binding.Default`, `c.JSON`)
(call_expression
  function: [
    (identifier) @name.reference.bare.call
    (parenthesized_expression (identifier) @name.reference.bare.call)
    (selector_expression operand: (_) @qualifier field: (field_identifier) @name.reference.call)
    (parenthesized_expression
      (selector_expression operand: (_) @qualifier field: (field_identifier) @name.reference.call))
  ])

(type_identifier) @name.reference.type

(import_spec path: (_) @import.module)

; a variable's type, where its declaration says it (`c := &Context{}`, `var c Context`)
(short_var_declaration
  left: (expression_list . (identifier) @local.name .)
  right: (expression_list . [(composite_literal type: (_) @local.type)
                             (unary_expression operand: (composite_literal type: (_) @local.type))] .))
(var_spec name: (identifier) @local.name type: (_) @local.type)
; or the function whose (first) value it is (`r := gin.New()`, `db, err := open(p)`)
(short_var_declaration
  left: (expression_list . (identifier) @local.name)
  right: (expression_list . (call_expression function: [(identifier) (selector_expression)] @local.call) .))

; every other variable declared or assigned, and function literals
(short_var_declaration left: (expression_list (identifier) @local.name))
(assignment_statement left: (expression_list (identifier) @local.name))
(range_clause left: (expression_list (identifier) @local.name))
(func_literal) @local.scope
