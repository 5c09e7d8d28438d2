; Ruby: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-ruby's tags.scm.

(class name: [(constant) (scope_resolution)] @name.definition.class) @definition.class
(singleton_class value: (_) @name.scope) @scope
(module name: [(constant) (scope_resolution)] @name.definition.module) @definition.module
(module body: (body_statement (method name: (_) @name.definition.method) @definition.method))
(method name: (_) @name.definition.function) @definition.function
(singleton_method name: (_) @name.definition.method) @definition.method
(program (assignment left: (constant) @name.definition.constant) @definition.constant)
(body_statement (assignment left: (constant) @name.definition.constant) @definition.constant)

(superclass [(constant) (scope_resolution)] @name.reference.inherit)

(call method: (identifier) @name.reference.call)
(call receiver: (constant) @name.reference.type)

(call
  method: (identifier) @import.fn
  arguments: (argument_list . (string (string_content) @import.module)))
