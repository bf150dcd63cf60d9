# CrowdSafe: `make run` starts everything, `make test` runs ruff and the whole test suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements/base.txt requirements/dev.txt requirements/constraints.txt requirements/ultralytics.txt

.PHONY: run test chaos lint bench bench-accuracy bench-scale bench-all migrate admin compose-check schemathesis clean-venv weights

$(STAMP): $(REQS)
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip wheel
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements/ultralytics.txt
	@touch $(STAMP)

## run: web (ASGI), Celery workers (streams, default), beat, Redis if needed, a demo camera
run: $(STAMP)
	$(PY) -m crowdsafe.launcher

## test: ruff, the import contracts (layers), the whole pytest suite, then the chaos suite (DATABASE_URL / REDIS_URL from the environment)
test: $(STAMP)
	$(PY) -m crowdsafe.testenv $(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m crowdsafe.testenv $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) chaos

## chaos: faults injected into PostgreSQL, a private Redis, Celery workers and a runner (a few minutes)
chaos: $(STAMP)
	$(PY) -m crowdsafe.testenv $(PY) -m pytest -m chaos tests/chaos

## weights: download models/yolo11s.pt (Ultralytics' release, sha256 checked), with a progress bar
weights: $(STAMP)
	$(PY) -m crowdsafe.fetch weights

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

## bench-accuracy: count recall on ../shared/data/crowd-counts per tiling mode (var/bench_accuracy.json)
bench-accuracy: $(STAMP)
	$(PY) benchmarks/bench_accuracy.py $(BENCH_ARGS)

## bench-scale: N file cameras on one worker, a process per camera against one shared detector
bench-scale: $(STAMP)
	$(PY) -m crowdsafe.testenv $(PY) benchmarks/bench_scale.py $(BENCH_ARGS)

bench-all: $(STAMP)
	for script in benchmarks/bench_*.py; do $(PY) -m crowdsafe.testenv $(PY) $$script || exit 1; done

migrate: $(STAMP)
	$(PY) manage.py migrate

admin: $(STAMP)
	$(PY) manage.py create_admin

# Validates docker-compose.yml with placeholder secrets (docker compose v2 or docker-compose v1).
compose-check:
	@if docker compose version >/dev/null 2>&1; then dc="docker compose"; else dc="docker-compose"; fi; \
	SECRET_KEY=placeholder POSTGRES_PASSWORD=placeholder ALLOWED_HOSTS=example.org \
	  $$dc --env-file .env.example config --quiet && echo "docker-compose.yml OK"

clean-venv:
	rm -rf $(VENV)
