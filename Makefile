# Two set-up commands on a fresh machine: `make run` and `make test` (README.md).
# The virtualenv is .venv; requirements are installed again only when a requirements file changes.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
# System packages the test suite needs, as binary:package pairs (Playwright drives the system Chromium;
# the built-in video analyzer runs ffprobe/ffmpeg; the download tests start a real qbittorrent-nox).
TEST_SYSTEM_PACKAGES := /usr/bin/chromium:chromium /usr/bin/ffprobe:ffmpeg /usr/bin/qbittorrent-nox:qbittorrent-nox
SQLITE_TEST_URL := sqlite:///$(CURDIR)/data/orchestrator-test.sqlite3
# Each pytest pass runs in PYTEST_WORKERS pytest-xdist workers, each with its own test database, SQLite file,
# channel prefix and log names (tests/settings.py). Most tests wait on real processes, Redis, HTTP or Chromium
# rather than on the CPU, so more workers than the machine's 2 cores pay. `make test PYTEST_WORKERS=0` runs each
# pass in a single process. worksteal: a worker that runs out of tests takes queued ones from a busy one, so
# a few long tests at the end do not leave the other workers idle.
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: run test bench lint clean system-packages

run: $(RUNTIME_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensureadmin
	exec $(PY) manage.py runstack

# Lint (with the import rules), the whole suite on PostgreSQL + Redis, then the suite on SQLite (the default path) without the
# browser tests. Every step runs; the target fails if any of them failed.
test: $(DEV_STAMP) system-packages
	@failed=""; \
	$(MAKE) --no-print-directory lint || failed="$$failed lint"; \
	echo "== pytest on PostgreSQL"; \
	$(PY) -m pytest $(PYTEST_PARALLEL) || failed="$$failed pytest-postgresql"; \
	echo "== pytest on SQLite (without browser tests)"; \
	DATABASE_URL=$(SQLITE_TEST_URL) $(PY) -m pytest $(PYTEST_PARALLEL) -m "not browser" || failed="$$failed pytest-sqlite"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "All checks passed."

bench: $(DEV_STAMP)
	$(PY) bench/run.py

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m tests.architecture

# Keeps data/ (the database and the secret key) except what test runs leave behind.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/staticfiles data/test-*.sqlite3* data/testproc-*.log \
		data/orchestrator-test.sqlite3*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(PY):
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create a virtualenv: install python3-venv (apt-get install -y python3-venv)"; exit 1; }

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

system-packages:
	@missing=""; \
	for pair in $(TEST_SYSTEM_PACKAGES); do [ -e "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "Not root: not installing$$missing (tests that need it will fail; apt-get install -y$$missing)"; \
		exit 0; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -q; \
	apt-get install -y -q $$missing || { apt-get update -q && apt-get install -y -q $$missing; }
