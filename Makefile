# Healer's one entry point for people and CI. `make help` lists the targets.
# Everything runs from .venv, which `make install` creates from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# Both cores: the whole-system tests (a sandbox, a cluster of replicas, a browser) share one worker, the rest
# spread over both. PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup
MAX_MODULE_LINES := 500
# Every dependency pinned, for `make install` and the Dockerfile alike: two installs of one commit are the same.
CONSTRAINTS := constraints.txt

.DEFAULT_GOAL := help
.PHONY: help install lock run test unit integration lint format typecheck docs bench clean k8s-dev-secrets

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv and install Healer with its test and lint tools

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Healer needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "python venv is missing: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	@touch $(STAMP)

lock: install ## re-pin the dependencies in constraints.txt after a change to pyproject.toml (PIP_COMPILE_ARGS=--upgrade moves every pin)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --all-extras --strip-extras --no-emit-index-url --no-emit-find-links \
		--annotation-style=line --output-file $(CONSTRAINTS) $(PIP_COMPILE_ARGS) pyproject.toml
	@# dev pulls in healer[embedded], so the project names itself by its path; a constraint on it would pin the folder
	sed -i '/^healer @ /d' $(CONSTRAINTS)

run: install ## start NATS, Redis and the six services on this machine (= healer up)
	$(BIN)/healer up

test: lint typecheck ## the full suite: lint, types, unit and integration tests
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

unit: install ## unit tests only (no servers)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: install ## integration tests only (real NATS, Redis and the Kubernetes emulator)
	$(BIN)/python -m pytest tests/integration $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: install ## ruff, formatting, import contracts, and generated files up to date
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/healer schema --check schemas
	$(BIN)/healer config table --check docs/settings.md
	$(BIN)/healer catalogue table --check docs/bus.md
	$(BIN)/python -m tests.support.rbac --check docs/security.md
	@find libs apps services tests bench -name '*.py' | xargs wc -l | awk '$$2 != "total" && $$1 > $(MAX_MODULE_LINES) \
		{ print $$2 ": " $$1 " lines; a module holds one concern in $(MAX_MODULE_LINES) at most: split it"; bad = 1 } END { exit bad }'

format: install ## apply ruff's fixes and formatting, regenerate schemas and the README's settings and catalogue tables
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/healer schema --write schemas
	$(BIN)/healer config table --write docs/settings.md
	$(BIN)/healer catalogue table --write docs/bus.md
	$(BIN)/python -m tests.support.rbac --write docs/security.md

typecheck: install ## mypy --strict over libraries, services, tests and benchmarks
	$(BIN)/mypy libs apps services tests bench

bench: install ## run every benchmark and print its figures (never part of `make test`; about 45 minutes)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/collector.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/detector.py
	$(BIN)/python bench/detector.py --replicas 1 2 --skip-latency
	$(BIN)/python bench/chaos.py
	$(BIN)/python bench/trend.py
	$(BIN)/python bench/detector_quality.py
	$(BIN)/python bench/correlator.py
	$(BIN)/python bench/remediator.py
	$(BIN)/python bench/agents.py
	$(BIN)/python bench/notifier.py
	$(BIN)/python bench/storm.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/analysis.py --seeds 5 --weeks 3
	$(BIN)/python bench/memory_replay.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/stories.py
	$(BIN)/python bench/api.py

k8s-dev-secrets: install ## NATS nkeys and credentials for deploy/k8s/overlays/dev (written to its generated/, kept if there)
	$(BIN)/healer nats config --out deploy/k8s/overlays/dev/generated/nats
	@test -f deploy/k8s/overlays/dev/generated/credentials.yaml || { \
	  $(BIN)/healer credentials new dev-admin --role admin --plain --file deploy/k8s/overlays/dev/generated/credentials.yaml && \
	  $(BIN)/healer credentials new dev-source --role source --plain --file deploy/k8s/overlays/dev/generated/credentials.yaml; }

clean: ## remove the venv, caches and local data of `make run`
	rm -rf $(VENV) .healer .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
