# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Two stamps: the runtime alone (`make run`) and the development extra (`make test`, lint, ...).
# A dev install contains the runtime, so it touches both; `make test` after `make run` still
# installs the dev extra.
STAMP_RUN := $(VENV)/.installed-runtime
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test setup lint typecheck spec coverage-doc bench vendor clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $(STAMP_RUN)

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP_DEV) $(STAMP_RUN)

setup: $(STAMP_DEV)

## Start the server on the embedded default (SQLite under $$WEDATA_HOME, default ~/.wedata).
## Installs the runtime only (no SDK, tccli or test tools).
run: $(STAMP_RUN)
	$(VENV)/bin/wedata server

## Set up and run the whole suite.
test: $(STAMP_DEV)
	bash tools/ci/install-quartz.sh
	bash tools/ci/install-sandbox.sh
	bash tools/ci/install-chromium.sh
	bash tools/ci/install-faketime.sh
	@# Bytecode once, up front: the suite starts hundreds of servers and CLI processes, and with
	@# PYTHONDONTWRITEBYTECODE set (as on CI machines) each one compiled ~400 modules (~0.6 s).
	$(PY) -m compileall -q src tests tools >/dev/null
	@# Two lanes at once: the tests marked `slow` (mostly waiting on real time) in two processes,
	@# the rest in three (tools/ci/run-suite.sh says why).
	bash tools/ci/run-suite.sh $(PY)

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/mypy

spec: $(STAMP_DEV)
	$(PY) tools/gen_spec.py
	$(PY) tools/gen_coverage.py

coverage-doc: $(STAMP_DEV)
	$(PY) tools/gen_coverage.py

bench: $(STAMP_DEV)
	$(PY) tools/bench/api.py
	$(PY) tools/bench/scheduling.py
	$(PY) tools/bench/cli.py
	$(PY) tools/bench/console.py

## Refresh the console's vendored JavaScript from the npm registry (needs npm; the files are
## committed, so installing or running the server never does).
vendor:
	bash tools/vendor.sh

clean:
	rm -rf $(VENV) build *.egg-info
