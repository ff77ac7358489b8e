# The README's two commands: `make demo` runs the product locally, `make test` runs the tests.
# Both need only python3: they create .venv and install into it what they need.
# Both install the exact versions of constraints.txt (what the tests ran with), not the newest that
# pyproject.toml's ranges allow; `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-sandbox
LOCK_VENV := build/lock-venv

.PHONY: install test lint typecheck pytest demo bench soak soak-fuzz soak-model soak-top soak-burst dashboard-png schema lock clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Everything: the program, the sandbox, the test tools and the bench's plots (dev includes sandbox).
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev,bench]'
	touch $(STAMP) $(DEMO_STAMP)

# Only what `make demo` runs: the program and the sandbox (no test tools, no matplotlib).
$(DEMO_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[sandbox]'
	touch $(DEMO_STAMP)

# constraints.txt afresh: the newest versions pyproject.toml's ranges allow, resolved in a scratch venv
# (the project's own .venv is left alone). Run `make test` on the result before committing it.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	head -n 2 $(CONSTRAINTS) > $(CONSTRAINTS).new
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable >> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy __main__.py components handlers nfw_blocklist
	# The forwarder's program and the component provider are more __main__ modules: mypy checks each alone.
	$(BIN)/mypy forwarder/__main__.py
	$(BIN)/mypy provider/__main__.py

# A test still running after 10 minutes (a hang: no single test takes 2) dumps every thread's
# stack to stderr and ends its worker, instead of stalling the run until CI gives up.
PYTEST_WATCHDOG = -o faulthandler_timeout=600 -o faulthandler_exit_on_timeout=true

pytest: install
	$(BIN)/pytest -n 2 $(PYTEST_WATCHDOG)

test: lint typecheck pytest

# provider/schema.json: the component package's schema as `pulumi package add` infers it from the Args.
# tests/unit/test_package.py fails until it is regenerated after an API change.
schema: install
	$(BIN)/python -m components.package

demo: $(DEMO_STAMP)
	$(BIN)/nfw-blocklist demo

bench: install
	$(BIN)/python -m nfw_blocklist.bench

# The long cases `make test` runs small (~20 minutes in all): the extraction fuzz with the `soak`
# Hypothesis profile (tests/conftest.py), the model-based concurrency test with a large randomised budget
# (NFW_MODEL_EXAMPLES=<n> changes it), the top-of-range payload test (14,999 hosts restored, the
# largest port probe EventBridge accepts), and the concurrency bursts at 500 findings (160 IP findings and
# 32 domains in `make test`, NFW_BURST_FINDINGS=<n> changes both). Every part runs even if one fails; the
# last lines name each part's time and every failed part, and `make soak` fails if any did. Each part
# also runs alone.
SOAK_PARTS := soak-fuzz soak-model soak-top soak-burst

soak: install
	@failed=""; for part in $(SOAK_PARTS); do \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$part || failed="$$failed $$part"; \
		echo "make soak: $$part took $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "make soak: FAILED:$$failed"; exit 1; fi; \
	echo "make soak: every part passed"

soak-fuzz: install
	$(BIN)/pytest -q --hypothesis-profile=soak tests/unit tests/integration

soak-model: install
	NFW_MODEL_PROFILE=soak $(BIN)/pytest -p no:logging tests/model/test_model_concurrency.py tests/model/test_model_domains.py tests/model/test_model_brake.py

soak-top: install
	NFW_TOP_OF_RANGE=1 $(BIN)/pytest -q -s tests/e2e/test_bounded_payloads.py -k top_of_the_range

soak-burst: install
	NFW_BURST_FINDINGS=500 $(BIN)/pytest -q -s tests/integration/test_blocking.py tests/integration/test_domains.py -k concurrent_executions

# docs/dashboard.png: the stack's dashboard drawn from six hours of sandbox time (about 40 s).
dashboard-png: install
	$(BIN)/python -m nfw_blocklist.dashboard_png

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
