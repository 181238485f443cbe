"""The selections of a query document, walked without recursion and without expanding fragments.

One walker serves every rule that reads a document's shape: the limits
(:mod:`.limits`, which measure each fragment once) and the operations' root
fields (:mod:`.documents`). A fragment spread is reported where it stands and
never followed here; who follows it decides how, so no document, however its
fragments spread each other, makes the walk itself deep or long.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["Definition", "Outline", "Selected", "Selection", "walk"]

Selection = FieldNode | InlineFragmentNode | FragmentSpreadNode
Definition = OperationDefinitionNode | FragmentDefinitionNode


@dataclass(frozen=True, slots=True)
class Selected:
    """A field, inline fragment or fragment spread, and where it sits in its definition.

    ``depth`` counts the fields it is nested in and ``fragments`` the inline
    fragments around it, both within the one definition being walked.
    """

    node: Selection
    depth: int
    fragments: int


def walk(selection_set: SelectionSetNode) -> Iterator[Selected]:
    """Every selection inside ``selection_set``, in document order; spreads are not followed."""
    stack = [(iter(selection_set.selections), 0, 0)]
    while stack:
        selections, depth, fragments = stack[-1]
        node = next(selections, None)
        if node is None:
            stack.pop()
            continue
        if not isinstance(node, (FieldNode, InlineFragmentNode, FragmentSpreadNode)):
            continue  # pragma: no cover - graphql-core has no other kind of selection
        yield Selected(node, depth, fragments)
        if isinstance(node, FieldNode):
            if node.selection_set is not None:
                stack.append((iter(node.selection_set.selections), depth + 1, fragments))
        elif isinstance(node, InlineFragmentNode):
            stack.append((iter(node.selection_set.selections), depth, fragments + 1))


class Outline:
    """A document's definitions, each walked once, and the spreads that tie fragments together."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operations = tuple(
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        )
        self._walked: dict[str, tuple[Selected, ...]] = {}

    def selections(self, definition: Definition) -> tuple[Selected, ...]:
        """What :func:`walk` finds in a definition; a fragment's is worked out once."""
        if isinstance(definition, OperationDefinitionNode):
            return tuple(walk(definition.selection_set))
        name = definition.name.value
        found = self._walked.get(name)
        if found is None:
            found = self._walked[name] = tuple(walk(definition.selection_set))
        return found

    def spreads(self, definition: Definition) -> Iterator[FragmentDefinitionNode]:
        """The fragments a definition spreads (directly, each once) that the document defines."""
        named = dict.fromkeys(
            s.node.name.value
            for s in self.selections(definition)
            if isinstance(s.node, FragmentSpreadNode)
        )
        return (self.fragments[name] for name in named if name in self.fragments)

    def in_dependency_order(self) -> list[FragmentDefinitionNode]:
        """Every fragment, each after all it spreads; a spread closing a cycle is passed over.

        Cycles are the schema validation's to report; here they only must not loop.
        """
        done: set[str] = set()
        order: list[FragmentDefinitionNode] = []
        for root in self.fragments.values():
            if root.name.value in done:
                continue
            path = [(root, self.spreads(root))]
            on_path = {root.name.value}
            while path:
                fragment, pending = path[-1]
                step = next(pending, None)
                if step is None:
                    path.pop()
                    on_path.discard(fragment.name.value)
                    done.add(fragment.name.value)
                    order.append(fragment)
                elif step.name.value not in done and step.name.value not in on_path:
                    path.append((step, self.spreads(step)))
                    on_path.add(step.name.value)
        return order

    def root_fields(self, operation: OperationDefinitionNode) -> list[FieldNode]:
        """The operation's root fields in document order, fragments followed once each."""
        found: list[FieldNode] = []
        followed: set[str] = set()
        stack = [iter(self.selections(operation))]
        while stack:
            selected = next(stack[-1], None)
            if selected is None:
                stack.pop()
            elif selected.depth:
                continue
            elif isinstance(selected.node, FieldNode):
                found.append(selected.node)
            elif isinstance(selected.node, FragmentSpreadNode):
                name = selected.node.name.value
                if name in self.fragments and name not in followed:
                    followed.add(name)
                    stack.append(iter(self.selections(self.fragments[name])))
        return found
