# The two set-up commands of the README. Both create .venv and install sesrego into it.
#   make run   install, build the bundle from the built-in default sources, scan the examples
#   make test  install with the test extras and run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
OPA_BINDINGS = opa-golib-python-bindings==0.4.4

.PHONY: run test install bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# OPA's Go engine: the wheel asks for Python >=3.14 but runs on 3.11.
	$(BIN)/python -m pip install --quiet --ignore-requires-python --no-deps $(OPA_BINDINGS)
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/sesrego bundle
	$(BIN)/sesrego scan terraform_examples/app-role-sends-mail/plan.json || test $$? -eq 1
	$(BIN)/sesrego scan terraform_examples/app-role-sends-mail-fixed/plan.json

test: install
	$(BIN)/python -m pytest -q -n auto  # one worker per core (pytest-xdist)

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) bundles/*.tar.gz bundles/compile-report.json
