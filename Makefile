# The two commands: `make dev` runs the example service locally; `make test` installs
# everything (virtualenv, test servers) and runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: dev test test-other-pythons install services lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	@# the distribution was called `lift` before `lift-lambda`: drop that stale install (and the PyPI
	@# project of that name, which would shadow `import lift`) so only lift-lambda provides `lift`
	@$(PY) -m pip uninstall -q -y lift >/dev/null 2>&1 || true
	@rm -rf src/lift.egg-info
	$(PY) -m pip install -q -e ".[all,test]"

dev: install
	@echo "lift is installed in $(VENV): in another terminal run '. $(VENV)/bin/activate' to use it," >&2
	@echo "  e.g. lift send sqs user-imports '{\"name\": \"Linus\", \"email\": \"linus@example.com\"}'" >&2
	$(PY) -m lift.cli dev examples.users_api.app:app --port $${PORT:-8000}

services:
	bash scripts/install-test-services.sh

test: install services lint
	@# two pytest-xdist workers (the CI has two cores), each with its own test servers; a test module
	@# stays on one worker, so its module-scoped fixtures are made once
	LIFT_STRICT_TEST_STATE=1 $(PY) -m pytest -n 2 --dist loadfile
	LIFT_STRICT_TEST_STATE=1 LIFT_MAIN_PYTHON=$(PY) bash scripts/test-other-pythons.sh

test-other-pythons:  # only the core suites on Python 3.12 and 3.13 (when found)
	LIFT_STRICT_TEST_STATE=1 LIFT_MAIN_PYTHON=$(PY) bash scripts/test-other-pythons.sh

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: install
	bash bench/run.sh

clean:
	rm -rf $(VENV) .venv-3.12 .venv-3.13 .bench-venv .test-services
