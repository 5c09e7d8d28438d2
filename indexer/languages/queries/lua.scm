; Lua: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-lua's tags.scm; `function M.f` / `function M:f` give `M.f`.

(function_declaration name: [
  (identifier) (dot_index_expression) (method_index_expression)
] @name.definition.function) @definition.function

(assignment_statement
  (variable_list . name: [(identifier) (dot_index_expression)] @name.definition.function)
  (expression_list . value: (function_definition))) @definition.function

(chunk (variable_declaration (assignment_statement
  (variable_list . name: (identifier) @name.definition.variable))) @definition.variable)

(function_call name: [
  (identifier) @name.reference.call
  (dot_index_expression field: (identifier) @name.reference.call)
  (method_index_expression method: (identifier) @name.reference.call)
])

(function_call
  name: (identifier) @import.fn
  arguments: (arguments . (string content: (_) @import.module)))
