; JSX element uses, appended to the JavaScript and TSX queries (not plain TypeScript).

(jsx_opening_element name: [(identifier) (member_expression property: (property_identifier))] @name.reference.call)
(jsx_self_closing_element name: [(identifier) (member_expression property: (property_identifier))] @name.reference.call)
