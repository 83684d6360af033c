# Every target builds the virtualenv on first use, so a fresh clone needs only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo bench soak clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -n auto  # one worker per core: most of an e2e test is waiting on a subprocess

demo: $(STAMP)
	$(BIN)/b24mirror demo

bench: $(STAMP)
	$(BIN)/python -m tests.bench

soak: $(STAMP)
	$(BIN)/python -m tests.soak
	$(BIN)/python -m tests.soak_year --days 365

clean:
	rm -rf $(VENV) build dist *.egg-info
