; Calls, appended to the JavaScript, TypeScript and TSX queries.
; a bare call reaches no method (a method needs `this.` or a receiver); a member call
; keeps its receiver, the call's qualifier (`this.render`, `super.mount`, `utils.format`)
(call_expression function: (identifier) @name.reference.bare.call)
(call_expression function: (member_expression object: (_) @qualifier
                                              property: (property_identifier) @name.reference.call))
(new_expression constructor: [(identifier) @name.reference.bare.call
                              (member_expression object: (_) @qualifier
                                                 property: (property_identifier) @name.reference.call)])

; a variable's type, where its declaration says it (`const app = new App()`)
(variable_declarator name: (identifier) @local.name
                     value: (new_expression constructor: [(identifier) (member_expression)] @local.type))
; or the function whose value it is (`const app = createApp()`, `= await load()`)
(variable_declarator name: (identifier) @local.name
                     value: (call_expression function: [(identifier) (member_expression)] @local.call))
(variable_declarator name: (identifier) @local.name
                     value: (await_expression (call_expression function: [(identifier) (member_expression)] @local.call)))

; every other variable declared or assigned, and functions without a name
(variable_declarator name: (identifier) @local.name)
(assignment_expression left: (identifier) @local.name)
(for_in_statement left: (identifier) @local.name)
[(arrow_function) (function_expression) (generator_function)] @local.scope
