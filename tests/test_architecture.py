"""The layers' import contracts (pyproject.toml, run by ``make lint``) catch a wrong import.

Each test copies the package, breaks one arrow in the copy and runs ``lint-imports``
on it with the project's own contracts: the copy must fail where the real tree passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts over the package copy in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        # --config, not a positional file: import-linter 2.15, the newest for Python 3.10,
        # refuses a positional one (and the project's range starts at 2.1)
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "pytest_logscale",
        tmp_path / "pytest_logscale",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def add_import(tree: Path, module: str, line: str) -> None:
    path = tree / "pytest_logscale" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("domain/records.py", "import werkzeug", "The domain knows no HTTP"),
        ("domain/store.py", "from ..graphql import resolvers", "Layers"),
        ("graphql/resolvers.py", "from ..http import app", "GraphQL knows no HTTP"),
        ("harness/journal.py", "import faker", "Faker only in seeding"),
        ("fake.py", "import pytest", "Only plugin.py"),
        ("control/app.py", "import pytest", "Only plugin.py"),
        ("contract/client.py", "from ..domain import store", "The contract suite talks HTTP"),
        ("transport/wsgi.py", "from ..http import server", "The in-process transport"),
        ("transport/routes.py", "import werkzeug", "The in-process transport"),
        ("http/app.py", "import requests", "requests and httpx only"),
        ("fake.py", "import httpx", "requests and httpx only"),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    add_import(tree, module, line)
    result = lint(tree)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(contract) for row in broken), result.stdout
