; JavaScript (+JSX): definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-javascript's tags.scm.

(class_declaration name: (_) @name.definition.class) @definition.class
(class name: (_) @name.definition.class) @definition.class

(method_definition name: (_) @name.definition.method) @definition.method

[
  (function_declaration name: (identifier) @name.definition.function)
  (generator_function_declaration name: (identifier) @name.definition.function)
  (function_expression name: (identifier) @name.definition.function)
] @definition.function

(variable_declarator
  name: (identifier) @name.definition.function
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(assignment_expression
  left: [(identifier) @name.definition.function
         (member_expression property: (property_identifier) @name.definition.function)]
  right: [(arrow_function) (function_expression)]) @definition.function

(pair
  key: (property_identifier) @name.definition.function
  value: [(arrow_function) (function_expression)]) @definition.function

(field_definition property: (property_identifier) @name.definition.field) @definition.field

(program (lexical_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable))
(program (variable_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable))
(program (export_statement (lexical_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable)))

(class_heritage [(identifier) (member_expression)] @name.reference.inherit)

; calls: calls.scm, appended


(import_statement
  (import_clause [
    (identifier) @import.name
    (named_imports (import_specifier name: (_) @import.name))
    (namespace_import (identifier) @import.name)])
  source: (string) @import.module)
(import_statement source: (string) @import.module)
(export_statement (export_clause (export_specifier name: (_) @import.name)) source: (string) @import.module)
(export_statement source: (string) @import.module)

(call_expression
  function: (identifier) @import.fn
  arguments: (arguments . (string) @import.module))
(call_expression
  function: (import)
  arguments: (arguments . (string) @import.module))
