# One entry point for every task. Needs only python3 (3.11+) and make:
# the first target run creates .tools/ (uv) and .venv/ (everything else, from uv.lock).

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
BIN := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser the tests in tests/e2e drive (never downloaded by Playwright).
TEST_CHROMIUM ?= /usr/bin/chromium
export TEST_CHROMIUM

.PHONY: install chromium sso-provider run test lint format translations bench stress clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

install: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

## Debian's Chromium (the browser tests), wrk (the bench's own test) and pgbouncer
## (tests/pgbouncer): installed when missing, if we are root. Otherwise those tests fail
## (never skip) and say how to install.
chromium:
	@missing=""; \
	[ -x "$(TEST_CHROMIUM)" ] || missing="chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing="$$missing pgbouncer"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "make: installing Debian's$$missing"; \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; } \
			|| echo "make: installing$$missing failed" >&2; \
	fi
	@if [ ! -x "$(TEST_CHROMIUM)" ]; then \
		echo "make: warning: no Chromium at $(TEST_CHROMIUM); the browser tests will fail" >&2; \
	fi

## The OpenID Connect provider the single sign-on tests start (tests/sso/provider, Node
## 20+): `npm ci` from its package-lock.json, again only when the lock file changes.
SSO_PROVIDER := tests/sso/provider
sso-provider: $(SSO_PROVIDER)/node_modules/.package-lock.json
$(SSO_PROVIDER)/node_modules/.package-lock.json: $(SSO_PROVIDER)/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node 20+) is needed for tests/sso: apt-get install nodejs npm" >&2; exit 1; }
	cd $(SSO_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## Serve the app on the embedded SQLite database, migrated and with demo data.
run: install
	$(BIN)/admin-app db upgrade
	$(BIN)/admin-app seed --if-empty
	$(BIN)/admin-app demo-admin
	LOG_FORMAT=$${LOG_FORMAT:-console} $(BIN)/admin-app serve --host $(HOST) --port $(PORT)

## The whole test suite (PostgreSQL too when TEST_DATABASE_URL is set): all but tests/stress
## on TEST_WORKERS processes (pytest-xdist; default 2, one per core here; 0 runs in one),
## then tests/stress alone, since it loads the machine and measures how the app copes.
TEST_WORKERS ?= 2
test: install chromium sso-provider
	$(BIN)/pytest -n $(TEST_WORKERS) --ignore=tests/stress
	$(BIN)/pytest tests/stress

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The project's own strings (admin_app/languages.py): extract them from the templates and
## the code (babel.cfg), merge them into each language's catalogue, compile the catalogues
## (the .mo files are committed). NEW_LANGUAGE=xx first starts a catalogue for a new language.
## A language starlette-admin has no catalogue of also gets its strings translated, domain
## `admin` (admin_app/translations/ar/LC_MESSAGES/admin.po), compiled here too.
CATALOGUES := admin_app/translations
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext --add-location=file --sort-by-file \
		--no-wrap --project=admin-app -o $(CATALOGUES)/messages.pot .
	@if [ -n "$(NEW_LANGUAGE)" ] && [ ! -f $(CATALOGUES)/$(NEW_LANGUAGE)/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel -q init -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) -l $(NEW_LANGUAGE) --no-wrap; fi
	$(BIN)/pybabel -q update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --no-wrap \
		--ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d $(CATALOGUES) --statistics
	$(BIN)/pybabel -q compile -d $(CATALOGUES) -D admin

## Seed (once) a 1M-customer PostgreSQL database, then time the admin against a raw floor.
## BENCH_DATABASE_URL picks the database; BENCH_SECONDS (5) and BENCH_ROUNDS (3) how long
## and how often each page is driven.
bench: install
	$(BIN)/python -m bench.run

## Attack and break the app for real, on loopback, in under 10 minutes (tests/stress at
## full scale, on SQLite and PostgreSQL); writes what happened to docs/reliability.md.
STRESS_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
stress: install
	STRESS_SCALE=full STRESS_REPORT=docs/reliability.md TEST_DATABASE_URL=$(STRESS_DATABASE_URL) \
		timeout --signal=INT 2400 $(BIN)/pytest -q -p tests.stress.report tests/stress \
		tests/test_db_restart.py tests/email/test_worker_process.py::test_sigkill_mid_batch_loses_no_message

clean:
	rm -rf .tools .venv .pytest_cache .mypy_cache .ruff_cache
