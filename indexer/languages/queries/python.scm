; Python: definitions, references, imports. Conventions: indexer/languages/__init__.py

(class_definition
  name: (identifier) @name.definition.class) @definition.class

(function_definition
  name: (identifier) @name.definition.function) @definition.function

; module-level and class-level assignments
(module
  (expression_statement
    (assignment left: (identifier) @name.definition.variable) @definition.variable))

(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name.definition.field) @definition.field)))

; inheritance
(class_definition
  superclasses: (argument_list
    [(identifier) (attribute)] @name.reference.inherit))

; calls: a bare name (which reaches no method: a method is called through an attribute)
; or an attribute of a receiver, the call's qualifier (`helpers.url_for`, `self.x`)
(call
  function: [
    (identifier) @name.reference.bare.call
    (attribute object: (_) @qualifier attribute: (identifier) @name.reference.call)
  ])

; type annotations
(type [(identifier) @name.reference.type
       (attribute attribute: (identifier) @name.reference.type)
       (generic_type (identifier) @name.reference.type)
       (subscript value: (identifier) @name.reference.type)])

; decorators that are plain names
(decorator [(identifier) @name.reference.bare.call
            (attribute object: (_) @qualifier attribute: (identifier) @name.reference.call)])

; imports
(import_statement name: [
  (dotted_name) @import.module
  (aliased_import name: (dotted_name) @import.module)])

(import_from_statement
  module_name: (_) @import.module
  name: [(dotted_name) @import.name
         (aliased_import name: (dotted_name) @import.name)])

(import_from_statement
  module_name: (_) @import.module
  (wildcard_import) @import.name)


; a variable's type, where its assignment says it (`app = Flask(__name__)`, `x: Foo = ...`)
; or the function whose value it is (`app = create_app()`)
(assignment left: (identifier) @local.name !type
            right: (call function: [(identifier) (attribute)] @local.call))
(assignment left: (identifier) @local.name type: (type) @local.type)

; an attribute a method gives the instance (`self.app = app`, `self.session = Session()`,
; `self.x: Foo = ...`): the calls through it in the class's methods reach its type's methods
; (`indexer.languages.typescopes`; the receiver is checked there to be `self` or `cls`)
(assignment left: (attribute object: (identifier) attribute: (identifier)) @local.name !type
            right: (call function: [(identifier) (attribute)] @local.call))
(assignment left: (attribute object: (identifier) attribute: (identifier)) @local.name
            type: (type) @local.type)
(assignment left: (attribute object: (identifier) attribute: (identifier)) @local.name !type
            right: (identifier) @local.alias)
(assignment left: (attribute object: (identifier) attribute: (identifier)) @local.name)
(assignment left: (pattern_list (attribute object: (identifier) attribute: (identifier))
                                 @local.name))
(assignment left: (tuple_pattern (attribute object: (identifier) attribute: (identifier))
                                 @local.name))
(for_statement left: (attribute object: (identifier) attribute: (identifier)) @local.name)

; every other variable assigned, and functions without a name: their types hide others
(assignment left: (identifier) @local.name)
(for_statement left: (identifier) @local.name)
(lambda) @local.scope
