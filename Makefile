# cinderblock: every entry point an operator or CI needs. Caches that must survive a
# fresh clone (pip wheels, the storage-node image) live under $(CACHE), not in the checkout.
SHELL := /bin/bash
CACHE ?= /var/cache/cinderblock
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_CACHE := $(CACHE)/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: venv lint test test-fast storage-vm storage-vm-shell bench up down conformance compose-test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --cache-dir $(PIP_CACHE) --upgrade pip
	$(PY) -m pip install -q --cache-dir $(PIP_CACHE) -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .

# The whole suite: unit, API/DB on SQLite, MariaDB and PostgreSQL, messaging on RabbitMQ,
# the storage-node VM tests (the image is built once and cached), then the compose stack
# in its Docker-enabled VM (a second VM, booted after the first has stopped).
test: venv storage-vm lint
	$(VENV)/bin/pytest -q tests
	$(MAKE) compose-test

# Everything that needs no VM, for a quick edit-test loop.
test-fast: venv
	$(VENV)/bin/pytest -q -m 'not vm' tests

storage-vm:
	bash tests/storage_vm/build.sh

storage-vm-shell:
	bash tests/storage_vm/shell.sh

# docker-compose.yml brought up inside the storage-node VM (its Docker variant, built once
# and cached under $(CACHE)/compose/) and a volume served end to end from it; prints its
# timings. `test` runs it last.
compose-test: venv storage-vm
	CINDERBLOCK_COMPOSE_TEST=1 $(VENV)/bin/pytest -q -s -p no:cacheprovider tests/compose

# Side by side with OpenStack Cinder 29 on this machine: prints figures and ratios, writes
# bench/results/latest.json. Reports only; it asserts nothing (and is no part of `test`).
bench: venv
	$(PY) -m bench

# The whole system on this machine: API and scheduler on the host, cinderblock-volume in the
# storage-node VM; state (config, database, VM disk, logs, openrc) under CINDERBLOCK_STATE
# (default /var/lib/cinderblock/onehost). A second `make up` only reports what runs.
up: venv storage-vm
	$(PY) etc/onehost/onehost.py up

# Stops what `make up` started; PURGE=1 also deletes the database and every volume.
down:
	$(PY) etc/onehost/onehost.py down $(if $(PURGE),--purge)

# Tempest's volume API tests and cinder-tempest-plugin's against cinderblock behind a real
# Keystone (fake backend); prints passed/failed/skipped, each failure and the skip reasons.
# Tempest's venv is cached under $(CACHE); the run takes about 10 minutes here.
conformance: venv
	$(PY) -m tests.conformance.run
