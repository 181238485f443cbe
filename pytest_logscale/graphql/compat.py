"""What differs between the graphql-core versions pyproject.toml allows (3.2.7 up to 3.3.x).

Everything else in the package is written against graphql-core's public API as 3.3 has
it; the difference that matters for what is accepted is settled here (the parser's token limits,
spelled differently before 3.3.2, are settled beside the parse call in documents.py):

- 3.3 validates that an operation's root type exists ("The subscription operation is
  not supported by the schema."); 3.2 lets such a document through to execution, which
  would answer 200 where 3.3, and LogScale, refuse it with 400; the same rule is added
  here for 3.2.

(The fast path's own check, ``fastpath.SUPPORTED``, makes graphql-core run every request
on 3.2, which lacks the executor and field collection the fast path builds on.)
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, specified_rules
from graphql.validation import ASTValidationRule, ValidationRule

__all__ = ["SPECIFIED_RULES"]


class _KnownOperationTypes(ValidationRule):
    """graphql-core 3.3's KnownOperationTypesRule, same message, for 3.2."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        operation = node.operation
        if not self.context.schema.get_root_type(operation):
            self.report_error(
                GraphQLError(
                    f"The {operation.value} operation is not supported by the schema.", node
                )
            )


def _specified_rules() -> tuple[type[ASTValidationRule], ...]:
    rules = tuple(specified_rules)
    if any(rule.__name__ == "KnownOperationTypesRule" for rule in rules):
        return rules
    return (rules[0], _KnownOperationTypes, *rules[1:])


#: graphql-core's specified validation rules, with 3.3's operation-type rule on 3.2 too.
SPECIFIED_RULES = _specified_rules()
