# make demo | make test | make service | make bench | make lint — each creates the virtual environment if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installe

.PHONY: demo test service bench bench-quick lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cotation demo --dossier demo

service: $(STAMP)
	$(BIN)/cotation service

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.cotation_1m

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.cotation_1m --quick

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
