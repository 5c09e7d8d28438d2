; Bash: definitions, references, imports. Conventions: indexer/languages/__init__.py
; tree-sitter-bash ships no tags query; written for Sextant.

(function_definition name: (word) @name.definition.function) @definition.function
(program (variable_assignment name: (variable_name) @name.definition.variable) @definition.variable)
(program (declaration_command (variable_assignment name: (variable_name) @name.definition.variable)) @definition.variable)

(command name: (command_name (word) @name.reference.call))

(command
  name: (command_name (word) @import.fn)
  . argument: [(word) (string) (raw_string) (concatenation)] @import.module)
