# The README's two commands: `make demo` runs the product locally, `make test` runs the tests.
# Both need only python3: they create .venv and install everything into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy __main__.py components handlers nfw_blocklist

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

demo: install
	$(BIN)/nfw-blocklist demo

bench: install
	$(BIN)/python -m nfw_blocklist.bench

# The model-based concurrency test with a large, randomised budget (~10 minutes); `make test` runs a
# small derandomised one. NFW_MODEL_EXAMPLES=<n> changes the budget.
soak: install
	NFW_MODEL_PROFILE=soak $(BIN)/pytest -p no:logging tests/model/test_model_concurrency.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
