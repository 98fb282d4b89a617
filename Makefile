# The interface a newcomer uses: `make run` and `make test` do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-stamp
WEB := admin_spa/web
NODE_STAMP := $(WEB)/node_modules/.installed-stamp
SPA_INDEX := $(WEB)/dist/index.html
SPA_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) \
	$(wildcard $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/tsconfig*.json)
H5 := miniprogram_api/h5
H5_NODE_STAMP := $(H5)/node_modules/.installed-stamp
H5_INDEX := $(H5)/dist/index.html
H5_SOURCES := $(shell find $(H5)/src $(H5)/public -type f 2>/dev/null) \
	$(wildcard $(H5)/index.html $(H5)/vite.config.ts $(H5)/package.json $(H5)/package-lock.json $(H5)/tsconfig*.json)
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
API_TYPES := $(WEB)/src/api/schema.d.ts
export FLASK_APP := wsgi:compose

.PHONY: wrk help run test deps lint test-sqlite test-postgres test-web test-e2e spa h5 chromium \
	migrate seed check-settings bench clean demo-piles demo-traffic types check-types

help:
	@echo "make run    - install what is missing, migrate, load demo data, start on http://127.0.0.1:5000"
	@echo "make test   - install what is missing, lint, type-check, run every test (SQLite, PostgreSQL, console + H5 vitest, browser)"
	@echo "make spa    - build the admin console (admin_spa/web -> admin_spa/web/dist)"
	@echo "make h5     - build the drivers' H5 pages ($(H5) -> $(H5)/dist, served at /h5/)"
	@echo "make types  - regenerate the console's API types ($(API_TYPES)) from the OpenAPI document"
	@echo "make bench  - run the benchmarks in bench/ (printed, never asserted)"
	@echo "make demo-piles   - simulated demo piles that answer the app (run beside make run)"
	@echo "make demo-traffic - simulated piles charging in a loop"

# --- installation ----------------------------------------------------------------------------

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SPA_INDEX): $(NODE_STAMP) $(SPA_SOURCES)
	cd $(WEB) && npm run build
	touch $@

$(H5_NODE_STAMP): $(H5)/package.json $(H5)/package-lock.json
	cd $(H5) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(H5_INDEX): $(H5_NODE_STAMP) $(H5_SOURCES)
	cd $(H5) && npm run build
	touch $@

deps: $(STAMP)

spa: $(SPA_INDEX)

h5: $(H5_INDEX)

# The console's API types from the OpenAPI document, which the app writes without a server or
# a database; keys sorted, so the same code always gives the same document and the same types.
# A "default" in the document is marshmallow's load_default, a request's: such a field may
# be left out, so --default-non-nullable=false keeps it optional.
# $(call api_types,DIR,OUTPUT) leaves the document in DIR/openapi.json.
api_types = EVOP_DATABASE_URL=sqlite:// EVOP_REDIS_URL= $(VENV)/bin/flask openapi write $(1)/raw.json \
	&& $(PY) -m json.tool --sort-keys --no-ensure-ascii $(1)/raw.json $(1)/openapi.json \
	&& $(WEB)/node_modules/.bin/openapi-typescript $(1)/openapi.json --output $(2) \
		--default-non-nullable=false

types: deps $(NODE_STAMP)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(call api_types,$$tmp,$(API_TYPES))

# The committed types match the code: fails when a schema changed and make types was not run.
check-types: deps $(NODE_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(call api_types,$$tmp,$$tmp/schema.d.ts) \
		&& if ! cmp -s $(API_TYPES) $$tmp/schema.d.ts; then \
			diff -u $(API_TYPES) $$tmp/schema.d.ts | head -40; \
			echo "$(API_TYPES) is out of date: run make types"; exit 1; \
		fi

# Debian's Chromium for the browser tests: never a browser downloaded by a test tool.
# Debian's Chromium, and a Chinese font so the screenshots of the console and the H5 pages
# show Chinese instead of empty boxes.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
chromium:
	@if [ -x /usr/bin/chromium ] && [ -e $(CJK_FONT) ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	elif [ -x /usr/bin/chromium ]; then \
		echo "no Chinese font: screenshots show boxes (sudo apt-get install -y fonts-wqy-zenhei)"; \
	else \
		echo "chromium is missing: run 'sudo apt-get install -y chromium fonts-wqy-zenhei'"; exit 1; \
	fi

# --- running ---------------------------------------------------------------------------------

migrate: deps
	$(VENV)/bin/flask db upgrade

seed: migrate
	EVOP_DEMO_MODE=1 $(VENV)/bin/flask seed-demo

run: deps spa h5 seed
	EVOP_DEMO_MODE=1 EVOP_WECHAT_SANDBOX=1 EVOP_HLHT_SANDBOX=1 EVOP_DEMO_PILES=1 $(PY) wsgi.py

demo-piles: deps
	$(PY) -m pile_link.simulator --piles DEMO-OCPP-01,55031412782305 --scenario idle

demo-traffic: deps
	$(PY) -m pile_link.simulator --piles DEMO-OCPP-01,55031412782305 --scenario normal --loop

check-settings: deps
	$(VENV)/bin/flask check-settings

# --- tests -----------------------------------------------------------------------------------

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Each suite has its own block of Redis databases (tests/support/redis_db.py), so `make test`
# can run them side by side.
test-sqlite: deps
	EVOP_TEST_REDIS_BLOCK=3 $(VENV)/bin/pytest --ignore=tests/e2e -q

# The same suite on PostgreSQL when it answers; under CI=true it must answer.
test-postgres: deps
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		EVOP_TEST_REDIS_BLOCK=2 EVOP_TEST_DATABASE_URL='$(PG_TEST_URL)' $(VENV)/bin/pytest --ignore=tests/e2e -q; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_TEST_URL) does not answer, and CI=true requires it"; exit 1; \
	else \
		echo "PostgreSQL at $(PG_TEST_URL) does not answer: skipping the PostgreSQL pass"; \
	fi

test-web: $(NODE_STAMP) $(H5_NODE_STAMP)
	cd $(WEB) && npm test
	cd $(H5) && npm test

test-e2e: deps spa h5 chromium
	EVOP_TEST_REDIS_BLOCK=1 $(VENV)/bin/pytest tests/e2e -q

# Lint and types first; then the SQLite, PostgreSQL and browser suites side by side (the
# browser suite mostly waits on its servers and Chromium, the PostgreSQL one on its database),
# each printed whole when it ends (-O); the vitest suites last.
test: lint check-types
	@$(MAKE) --no-print-directory -j3 -O test-sqlite test-postgres test-e2e
	@$(MAKE) --no-print-directory test-web

# the drivers' API benchmark's load generator (optional: a Python client stands in)
wrk:
	@if command -v wrk >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
			|| echo "wrk could not be installed: the Python load client is used"; \
	else \
		echo "wrk is missing (sudo apt-get install -y wrk): the Python load client is used"; \
	fi

bench: deps wrk
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(WEB)/dist $(H5)/dist .pytest_cache .mypy_cache .ruff_cache
