# Two commands on a fresh machine:
#   make run    create .venv from requirements.lock, then run the whole pipeline
#   make test   create .venv from requirements.lock, then run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	$(BIN)/snakemake

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

# ruff (format and check) on the Python, snakefmt --check on the Snakemake files, and
# snakemake --lint with no advice beyond its per-rule conda/container suggestion (which makes
# --lint itself exit 1): the tests say which.
lint: $(STAMP)
	$(BIN)/python -m pytest -q tests/workflow/test_workflow_lint.py

# Regenerate the lock after changing pyproject.toml's dependencies.
lock:
	rm -rf /tmp/bptt-lock && $(PYTHON) -m venv /tmp/bptt-lock
	/tmp/bptt-lock/bin/pip install --quiet --upgrade pip setuptools wheel
	/tmp/bptt-lock/bin/pip install --quiet ".[pipeline,test]"
	(echo '# Exact versions for the pipeline and the tests; regenerate with make lock.'; \
	 /tmp/bptt-lock/bin/pip freeze --all --exclude bptt) > requirements.lock
