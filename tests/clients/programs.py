"""Finding the client programs the tests run, and running them.

A client that is missing skips its test on a developer's machine, with the
reason; in CI (``CI=true``) it fails the test instead, so that CI cannot go
green by skipping the clients it was meant to prove.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import NoReturn

import pytest

TIMEOUT = 60


def in_ci() -> bool:
    """Whether the tests run in CI, where every client must be present."""
    return os.environ.get("CI") == "true"


def missing(reason: str) -> NoReturn:
    """Skip the test because a client is missing, or fail it when running in CI."""
    if in_ci():
        pytest.fail(f"{reason}, and CI=true: in CI every client must run (see README)")
    pytest.skip(reason)


def require_program(name: str) -> str:
    """The path of a program on PATH; a missing one is :func:`missing`."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed")
    return path


def require_perl_module(module: str, package: str) -> str:
    """The path of perl, once it has shown it can load ``module`` (from Debian's ``package``)."""
    perl = require_program("perl")
    loads = subprocess.run(
        [perl, f"-M{module}", "-e1"], capture_output=True, timeout=TIMEOUT, check=False
    )
    if loads.returncode != 0:
        missing(f"Perl module {module} is not installed (Debian package {package})")
    return perl


def run(
    command: Sequence[str], *, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a client to completion and return what it printed; it must exit 0."""
    done = subprocess.run(
        command,
        input=stdin,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}: {done.stderr}"
    return done
