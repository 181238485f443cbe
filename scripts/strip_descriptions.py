"""Write LogScale's full schema without its descriptions, as pytest-logscale ships it.

    python scripts/strip_descriptions.py tests/data/logscale-full-schema.graphql \
        pytest_logscale/graphql/logscale-full.graphql

The fake reads the stripped copy only to tell "LogScale has this field, the fake
does not serve it" from "no such field" (pytest_logscale/graphql/unserved.py);
LogScale's own descriptions are its text, so they stay out of the package.
tests/test_unserved.py checks that the shipped copy is this script's output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from graphql import parse, print_ast
from graphql.language import Visitor, visit


class _DropDescriptions(Visitor):
    def enter(self, node: Any, *_args: Any) -> Any:
        if getattr(node, "description", None) is None:
            return None
        kept = {key: getattr(node, key) for key in node.keys if key != "description"}
        return type(node)(**kept)  # a copy without it: nodes may be frozen


def strip(sdl: str) -> str:
    """The schema text without descriptions and comments, printed by graphql-core."""
    document = visit(parse(sdl, no_location=True), _DropDescriptions())
    return print_ast(document) + "\n"


def main(argv: list[str]) -> int:
    """Read argv[0], write argv[1]."""
    source, target = (Path(name) for name in argv)
    target.write_text(strip(source.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
