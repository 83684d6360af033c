# Every target builds the virtualenv on first use, so a fresh clone needs only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-readings demo bench soak clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -n auto  # one worker per core: most of an e2e test is waiting on a subprocess

# The e2e suite once per non-default reading of the platform (b24mirror/fakeportal/readings.py); every
# reading is run, and the target fails if any failed.
test-readings: $(STAMP)
	@status=0; for reading in $$($(BIN)/python -c 'from b24mirror.fakeportal.readings import alternatives; \
			print(" ".join(f"{name}={value}" for name, value in alternatives()))'); do \
		echo "== B24M_TEST_READINGS=$$reading"; \
		B24M_TEST_READINGS=$$reading $(BIN)/pytest -q -n auto tests/e2e || status=1; \
	done; exit $$status

demo: $(STAMP)
	$(BIN)/b24mirror demo

bench: $(STAMP)
	$(BIN)/python -m tests.bench

soak: $(STAMP)
	$(BIN)/python -m tests.soak
	$(BIN)/python -m tests.soak_year --days 365

clean:
	rm -rf $(VENV) build dist *.egg-info
