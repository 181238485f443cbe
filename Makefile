# Both targets work on a bare machine with Python >= 3.10 and pip: they make .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test serve lint clients bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

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

# After the suite, noxfile.py proves the dependency ranges: floors, newest, codegen.
test: lint clients
	$(BIN)/pytest
	$(BIN)/nox

serve: $(STAMP)
	$(BIN)/pytest-logscale serve

# `make bench` runs every benchmark (about two minutes); `make bench BENCH="--quick query"` one.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) .nox build dist .mypy_cache .ruff_cache .pytest_cache *.egg-info
