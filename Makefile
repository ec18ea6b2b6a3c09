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

.PHONY: setup test test-fast loadtest ui local-aws deploy teardown report sweep bench lint typecheck format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Tests run in parallel, one worker per core (pytest-xdist); plain `pytest` runs them serially.
test: setup
	$(BIN)/python -m pytest -n auto $(ARGS)

test-fast: setup
	$(BIN)/python -m pytest -n auto -m "not slow" $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck

# mypy sees the package as it is installed (coldbench.record, coldbench.infra, ...):
# a tree of links lays the repository's folders out under one `coldbench` folder.
TYPECHECK := .coldbench/typecheck
typecheck: setup
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/coldbench
	for d in record infra analysis locustfiles; do ln -s ../../../$$d $(TYPECHECK)/coldbench/$$d; done
	for f in coldbench/*.py; do ln -s ../../../$$f $(TYPECHECK)/$$f; done
	cd $(TYPECHECK) && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p coldbench

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

loadtest: setup
	$(BIN)/coldbench run $(TARGET_FLAG) $(WORKERS_FLAG) $(ARGS)

ui: setup
	$(BIN)/coldbench ui $(TARGET_FLAG) $(WORKERS_FLAG) $(ARGS)

local-aws: setup
	$(BIN)/coldbench local-aws --port $(or $(PORT),4566) $(ARGS)

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
