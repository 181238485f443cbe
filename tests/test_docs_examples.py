"""The how-to's examples are test files in docs/examples/: they run here, so they cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Imported here so that in-process pytester runs find it loaded: a copy imported
# inside one run and dropped after it breaks requests' own type checks in the next.
import requests  # noqa: F401

# The same for the fake: a run that first imports it (and the records' Role enum) and
# drops it after leaves the next run comparing roles of two copies of the enum
# (`member()` found no member when this file ran alone).
import pytest_logscale.fake  # noqa: F401

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("test_*.py"))
# a python block of the how-to, named by the HTML comment on the line before it
BLOCK = re.compile(r"<!-- (docs/examples/[\w.]+) -->\n```python\n(.*?)```\n", re.DOTALL)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_passes(pytester: pytest.Pytester, example: Path) -> None:
    # a module name of its own: in-process runs share sys.modules with tests/
    pytester.makepyfile(**{f"test_docs_example_{example.stem[5:]}": example.read_text()})
    result = pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:faker")
    outcomes = result.parseoutcomes()
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert outcomes.get("passed", 0) >= 1
    assert set(outcomes) == {"passed"}


def test_every_python_block_of_the_how_to_is_an_example_file() -> None:
    text = (DOCS / "how-to.md").read_text()
    blocks = BLOCK.findall(text)
    assert len(blocks) == text.count("```python"), "a python block without its file comment"
    for name, code in blocks:
        assert code == (DOCS.parent / name).read_text(), f"how-to.md is out of date with {name}"
    assert sorted(name for name, _code in blocks) == [
        f"docs/examples/{p.name}" for p in EXAMPLES
    ], "every example appears once in how-to.md"
