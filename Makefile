# Two commands on a fresh machine: `make demo` and `make test`. Both run `make setup` first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BEACON_SRC := $(shell find beacon-js/src -type f 2>/dev/null) beacon-js/build.mjs beacon-js/tsconfig.json

.PHONY: setup test demo lint chromium postgresql clean

setup: $(VENV)/.installed beacon-js/dist/vigil.js

# requirements.lock pins every package, the transitive ones too (pip freeze of a working .venv).
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

beacon-js/node_modules/.installed: beacon-js/package.json beacon-js/package-lock.json
	cd beacon-js && SENTRYCLI_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

beacon-js/dist/vigil.js: beacon-js/node_modules/.installed $(BEACON_SRC)
	cd beacon-js && npm run build

# Browser tests drive Debian's chromium, and one serves HTTPS with a certificate openssl
# makes; install them when missing and we may.
chromium:
	@for tool in chromium openssl; do command -v $$tool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$tool >/dev/null || exit 1; \
	  else echo "make: the browser tests need Debian's $$tool package: sudo apt-get install $$tool" >&2; exit 1; fi; }; \
	done

# The DuckLake tests run a PostgreSQL of their own (an unprivileged cluster on a loopback port): Debian's server
# programs, installed when missing and we may.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null || exit 1; \
	  else echo "make: the DuckLake tests need Debian's postgresql package: sudo apt-get install postgresql" >&2; exit 1; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd beacon-js && npm run typecheck

test: setup chromium postgresql lint
	cd beacon-js && npm test
	$(BIN)/pytest

demo: setup
	$(BIN)/vigil demo

clean:
	rm -rf $(VENV) beacon-js/node_modules beacon-js/dist
