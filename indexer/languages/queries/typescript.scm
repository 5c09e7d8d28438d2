; TypeScript and TSX: definitions, references, imports. Conventions: indexer/languages/__init__.py
; The JavaScript patterns (javascript.scm) plus tree-sitter-typescript's tags.scm and more.

[
  (class_declaration name: (_) @name.definition.class)
  (abstract_class_declaration name: (_) @name.definition.class)
  (class name: (_) @name.definition.class)
] @definition.class

(interface_declaration name: (_) @name.definition.interface) @definition.interface
(enum_declaration name: (_) @name.definition.enum) @definition.enum
(type_alias_declaration name: (_) @name.definition.type) @definition.type
(internal_module name: (_) @name.definition.module) @definition.module
(module name: (_) @name.definition.module) @definition.module

[
  (method_definition name: (_) @name.definition.method)
  (method_signature name: (_) @name.definition.method)
  (abstract_method_signature name: (_) @name.definition.method)
] @definition.method

[
  (function_declaration name: (identifier) @name.definition.function)
  (function_signature name: (identifier) @name.definition.function)
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

(public_field_definition name: (property_identifier) @name.definition.field) @definition.field
(property_signature name: (property_identifier) @name.definition.field) @definition.field

(program (lexical_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable))
(program (variable_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable))
(program (export_statement (lexical_declaration
  (variable_declarator name: (identifier) @name.definition.variable) @definition.variable)))

(extends_clause value: [(identifier) (member_expression)] @name.reference.inherit)
(implements_clause [(type_identifier) (nested_type_identifier) (generic_type)] @name.reference.inherit)
(extends_type_clause type: [(type_identifier) (nested_type_identifier) (generic_type)] @name.reference.inherit)

; calls: calls.scm, appended

(type_identifier) @name.reference.type

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

; a variable's declared type (`let app: App = ...`)
(variable_declarator name: (identifier) @local.name type: (type_annotation) @local.type)
