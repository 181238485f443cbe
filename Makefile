# Both targets work on a bare machine with Python >= 3.10 and pip: they make .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make serve` needs the runtime dependencies only: a stamp of its own, so it never
# installs the test tools (and the test stamp's install includes it)
RUNTIME := $(VENV)/.runtime
# pytest-xdist workers for `make test` (each has its own fake server); 0 runs serially.
# Serial by default: on a loaded two-core machine two workers were not reliably faster,
# and wall-clock bounds in the fuzz tests failed under them (docs/performance.md).
WORKERS ?= 0

.PHONY: test serve lint clients bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP) $(RUNTIME)

$(RUNTIME): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict pytest_logscale
	$(BIN)/lint-imports

# The client tests run curl, Node.js and Perl's LWP. In CI (CI=true) LWP is installed from
# Debian's libwww-perl when missing, so those tests run there instead of skipping.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

clients:
	@if [ "$$CI" = true ] && ! perl -MLWP::UserAgent -e1 2>/dev/null; then \
		echo "installing Perl's LWP (Debian package libwww-perl) for the client tests"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y libwww-perl; \
	fi

# The behaviour suites run a second time in the in-process transport: each test, routed
# without a socket, must pass as it does over HTTP (docs/fixtures.md, "Transports").
IN_PROCESS_SUITES := tests/test_sessions_query.py tests/test_revoke.py tests/test_faults.py \
	tests/test_http.py tests/test_settings.py tests/test_expiry.py tests/test_fidelity.py \
	tests/test_seed_docs.py tests/test_control.py

# After the suites, noxfile.py proves the dependency ranges: floors, newest, codegen.
test: lint clients
	$(BIN)/pytest -n $(WORKERS)
	$(BIN)/pytest -n $(WORKERS) -q --logscale-transport=in-process $(IN_PROCESS_SUITES)
	$(BIN)/nox

serve: $(RUNTIME)
	$(BIN)/pytest-logscale serve

# `make bench` runs every benchmark (about seven minutes: per-test is four of them); `make bench BENCH="--quick query"` one.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) .nox build dist .mypy_cache .ruff_cache .pytest_cache *.egg-info
