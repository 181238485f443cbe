"""The dependency ranges are true, and the code runs on every graphql-core they allow.

noxfile.py proves the ranges by installing their ends (``make test`` runs it); these
tests keep pyproject.toml, the installed metadata and noxfile.py saying the same.
"""

from __future__ import annotations

import ast
from importlib.metadata import requires
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement

from pytest_logscale import FakeLogScale
from pytest_logscale.graphql.compat import SPECIFIED_RULES

ROOT = Path(__file__).parent.parent


def runtime_requirements() -> dict[str, Requirement]:
    found = [Requirement(text) for text in requires("pytest-logscale") or []]
    return {r.name.lower(): r for r in found if r.marker is None}


def nox_floors() -> dict[str, str]:
    """noxfile.py's FLOORS, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "FLOORS" for t in targets):
                assert node.value is not None
                floors: dict[str, str] = ast.literal_eval(node.value)
                return floors
    raise AssertionError("noxfile.py has no FLOORS")


def test_graphql_core_3_2_is_allowed_so_ariadne_codegen_installs_beside_us() -> None:
    graphql_core = runtime_requirements()["graphql-core"].specifier
    assert graphql_core.contains("3.2.7")  # ariadne-codegen's range: >=3.2.7,<3.3
    assert graphql_core.contains("3.3.2")
    assert not graphql_core.contains("3.4.0")


def test_werkzeug_has_an_upper_bound_since_the_server_overrides_its_internals() -> None:
    werkzeug = runtime_requirements()["werkzeug"].specifier
    assert werkzeug.contains("3.0.0") and werkzeug.contains("3.1.9")
    assert not werkzeug.contains("4.0.0")


def test_pluggy_is_required_new_enough_for_the_plugins_wrapper_hook() -> None:
    # plugin.py uses hookimpl(wrapper=True); pytest 7.4 itself accepts pluggy 1.0
    pluggy = runtime_requirements()["pluggy"].specifier
    assert not pluggy.contains("1.0.0")
    assert pluggy.contains("1.2.0")


@pytest.mark.parametrize(
    "name", ["pytest", "pluggy", "graphql-core", "ariadne", "werkzeug", "faker", "orjson"]
)
def test_the_floors_session_installs_exactly_the_lowest_allowed_version(name: str) -> None:
    floor = nox_floors()[name]
    specifier = runtime_requirements()[name].specifier
    assert specifier.contains(floor)
    lower = [s.version for s in specifier if s.operator == ">="]
    assert lower and all(Requirement(f"x=={v}").specifier.contains(floor) for v in lower), (
        f"noxfile.py's floor {floor} is not pyproject.toml's lowest bound {lower}"
    )


@pytest.mark.parametrize("name", ["requests", "httpx"])
def test_the_floors_session_pins_the_in_process_clients_at_the_test_extras_floor(name: str) -> None:
    # the in-process transport patches them: the floors session runs its tests on the lowest
    extra = [Requirement(text) for text in requires("pytest-logscale") or []]
    tested = {r.name.lower(): r for r in extra if r.marker and r.marker.evaluate({"extra": "test"})}
    lower = [s.version for s in tested[name].specifier if s.operator == ">="]
    assert lower == [nox_floors()[name].removesuffix(".0")]


def test_a_subscription_is_refused_by_validation_on_every_graphql_core(
    logscale_server: FakeLogScale,
) -> None:
    # graphql-core 3.3 refuses it itself; on 3.2 compat.py adds the same rule (noxfile floors)
    names = [rule.__name__ for rule in SPECIFIED_RULES]
    assert sum(n in ("KnownOperationTypesRule", "_KnownOperationTypes") for n in names) == 1
    answer = requests.post(
        logscale_server.graphql_url,
        json={"query": "subscription { currentUser { id } }"},
        headers={"Authorization": f"Bearer {logscale_server.token}"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert [e["message"] for e in answer.json()["errors"]] == [
        "The subscription operation is not supported by the schema."
    ]


def test_every_package_of_the_source_tree_is_shipped() -> None:
    # setuptools ships only the packages pyproject.toml lists: one left out installs fine
    # in editable mode and fails on import from a wheel (the codegen session caught one)
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "pytest_logscale").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found == listed
