# coldbench — every target creates the virtual environment on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TARGET ?=
WORKERS ?=
RUN ?=
ARGS ?=

TARGET_FLAG := $(if $(TARGET),--target $(TARGET),)
WORKERS_FLAG := $(if $(WORKERS),--workers $(WORKERS),)

.PHONY: setup test test-fast loadtest ui deploy teardown report sweep bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest $(ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

loadtest: setup
	$(BIN)/coldbench run $(TARGET_FLAG) $(WORKERS_FLAG) $(ARGS)

ui: setup
	$(BIN)/coldbench ui $(TARGET_FLAG) $(WORKERS_FLAG) $(ARGS)

deploy: setup
	$(BIN)/coldbench up --target $(or $(TARGET),aws) $(ARGS)

teardown: setup
	$(BIN)/coldbench down --target $(or $(TARGET),aws) $(ARGS)

report: setup
	$(BIN)/coldbench report $(or $(RUN),--latest) $(ARGS)

sweep: setup
	$(BIN)/coldbench sweep $(TARGET_FLAG) $(ARGS)

bench: setup
	$(BIN)/python bench/run_all.py $(ARGS)

clean:
	rm -rf .coldbench runs/* reports/*/ .pytest_cache
