# Every target does its own set-up: a fresh clone needs nothing but python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test bench schemas clean prometheus faults deploy-tools deploy-check

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install prometheus
	$(VENV)/bin/churnwatch demo

test: install prometheus deploy-tools
	$(PY) -m pytest

# Debian's Prometheus server and promtool, for the alert-rule tests and the real-scrape test;
# installed only when missing, and its system service is never started.
prometheus:
	sh deploy/prometheus/install-prometheus.sh

# Debian's docker-compose 1.29 (its `config` validates deploy/docker-compose.yml without a
# Docker engine, which is not installed); kubernetes-validate comes with the dev extra.
deploy-tools:
	sh deploy/install-docker-compose.sh

# Validate the Dockerfile, compose file and Kubernetes manifests in deploy/ (no engine, no cluster).
deploy-check: install prometheus deploy-tools
	$(PY) -m pytest -q tests/integration/test_deploy_files.py

# docs/benchmarks.md: throughput, latency, memory, replay and bootstrap on the embedded broker
# (three runs, ~15 minutes; `make bench BENCH_ARGS=--quick` is a two-minute smoke run).
bench: install
	$(PY) -m streams.bench $(BENCH_ARGS)

schemas: install
	$(PY) -m schemas.generate

clean:
	rm -rf $(VENV) out .pytest_cache

# The fault suite: worker kill -9 / SIGTERM under load, floods, broker restart, two workers.
faults: install prometheus
	CHURNWATCH_TEST_FAULTS=1 $(PY) -m pytest tests/integration/test_faults.py
