# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck spec coverage-doc bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Start the server on the embedded default (SQLite under $$WEDATA_HOME, default ~/.wedata).
run: $(STAMP)
	$(VENV)/bin/wedata server

## Set up and run the whole suite.
test: $(STAMP)
	bash tools/ci/install-quartz.sh
	bash tools/ci/install-sandbox.sh
	$(PY) -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/mypy

spec: $(STAMP)
	$(PY) tools/gen_spec.py
	$(PY) tools/gen_coverage.py

coverage-doc: $(STAMP)
	$(PY) tools/gen_coverage.py

bench: $(STAMP)
	$(PY) tools/bench/api.py
	$(PY) tools/bench/scheduling.py

clean:
	rm -rf $(VENV) build *.egg-info
