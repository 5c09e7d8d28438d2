; Rust: definitions, references, imports. Conventions: indexer/languages/__init__.py
; Based on tree-sitter-rust's tags.scm; `impl Foo { fn bar }` gives `Foo.bar`.

(struct_item name: (type_identifier) @name.definition.struct) @definition.struct
(union_item name: (type_identifier) @name.definition.struct) @definition.struct
(enum_item name: (type_identifier) @name.definition.enum) @definition.enum
(type_item name: (type_identifier) @name.definition.type) @definition.type
(trait_item name: (type_identifier) @name.definition.trait) @definition.trait
(mod_item name: (identifier) @name.definition.module) @definition.module
(macro_definition name: (identifier) @name.definition.macro) @definition.macro
(function_item name: (identifier) @name.definition.function) @definition.function
(function_signature_item name: (identifier) @name.definition.function) @definition.function
(const_item name: (identifier) @name.definition.constant) @definition.constant
(static_item name: (identifier) @name.definition.constant) @definition.constant
(field_declaration name: (field_identifier) @name.definition.field) @definition.field

(impl_item type: (_) @name.scope) @scope

(impl_item trait: [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherit)
(trait_item bounds: (trait_bounds [(type_identifier) (scoped_type_identifier) (generic_type)] @name.reference.inherit))

; calls: a bare name (never a method: those need `self.` or a path), a method of a value
; (`x.strip()`: the value is the qualifier) or a path (`Gitignore::new`: the path is)
(call_expression function: [
  (identifier) @name.reference.bare.call
  (field_expression value: (_) @qualifier field: (field_identifier) @name.reference.call)
  (scoped_identifier path: (_) @qualifier.path name: (identifier) @name.reference.call)
  (scoped_identifier !path name: (identifier) @name.reference.call)
  (generic_function function: [
    (identifier) @name.reference.bare.call
    (scoped_identifier path: (_) @qualifier.path name: (identifier) @name.reference.call)
    (scoped_identifier !path name: (identifier) @name.reference.call)
    (field_expression value: (_) @qualifier field: (field_identifier) @name.reference.call)])
])
(macro_invocation macro: [(identifier) @name.reference.call
                          (scoped_identifier name: (identifier) @name.reference.call)])

(type_identifier) @name.reference.type

(use_declaration argument: [
  (identifier) @import.module
  (scoped_identifier) @import.module
  (use_as_clause path: (_) @import.module)
  (use_wildcard (_) @import.module)
])
(use_declaration argument: (scoped_use_list
  path: (_) @import.module
  list: (use_list [(identifier) @import.name
                   (use_as_clause path: (identifier) @import.name)
                   (self) @import.name])))
(mod_item name: (identifier) @import.module !body)

; a variable's type, where its `let` says it (`let m: Matcher`, `Foo { .. }`, `Foo::new(..)`,
; `Foo::new(..)?`; which paths are constructors: `indexer.languages.params.local_type`)
(let_declaration pattern: (identifier) @local.name type: (_) @local.type)
(let_declaration pattern: (identifier) @local.name value: (struct_expression name: (_) @local.type))
(let_declaration pattern: (identifier) @local.name
                 value: (call_expression function: [(identifier) (scoped_identifier) (field_expression)] @local.call))
(let_declaration pattern: (identifier) @local.name
                 value: (try_expression (call_expression function: [(identifier) (scoped_identifier) (field_expression)] @local.call)))

; every other variable bound, and closures
(let_declaration pattern: (identifier) @local.name)
(for_expression pattern: (identifier) @local.name)
(closure_expression) @local.scope
