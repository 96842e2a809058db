# Every target does its own set-up: a fresh clone needs nothing but python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test bench schemas clean prometheus faults deploy-tools deploy-check realdata

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install prometheus
	$(VENV)/bin/churnwatch demo

# Everything, the fault suite included (CHURNWATCH_TEST_FAULTS=1; a bare `pytest` leaves it out).
test: install prometheus deploy-tools
	CHURNWATCH_TEST_FAULTS=1 $(PY) -m pytest

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
# (three runs, ~16 minutes on 2 cores; `make bench BENCH_ARGS=--quick` is a two-minute smoke run).
bench: install
	$(PY) -m streams.bench $(BENCH_ARGS)

schemas: install
	$(PY) -m schemas.generate

clean:
	rm -rf $(VENV) out .pytest_cache

# The fault suite alone (part of `make test`): worker kill -9 / SIGTERM under load, floods,
# broker restart, two workers, market timing; each ends with `churnwatch verify`.
faults: install prometheus
	CHURNWATCH_TEST_FAULTS=1 $(PY) -m pytest -rxX --durations=12 tests/integration/test_faults.py

# The risk score on real history: the CDNOW purchase log (fetched with pip from PyPI, inside the
# lifetimes wheel, into out/realdata/), 39 weeks of calibration and 39 of holdout, against recency,
# BG/NBD and Pareto/NBD (docs/quality.md, "Real history: CDNOW"). About 2.5 minutes on 2 cores
# (156 s on 2026-12-07, the replay 150 s of it), more the first time (install, fetch, fits); the converted
# file and the fitted baselines are cached in out/realdata/cache/, so a rerun costs the replay only.
REALDATA_STAMP := $(VENV)/.realdata-stamp

$(REALDATA_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[realdata]'
	touch $(REALDATA_STAMP)

realdata: $(REALDATA_STAMP)
	$(PY) -m streams.realdata out/realdata/download
	$(VENV)/bin/churnwatch evaluate-holdout out/realdata/download/CDNOW_master.txt \
		--cutoff 1997-10-01 --horizon 273 --one-order-per-day --currency USD --processes 0 --out out/realdata
