# The two commands of the README: `make demo` and `make test`. Both set up what they need first.
SHELL := /bin/bash
ROOT := $(CURDIR)
export PATH := $(ROOT)/tools/sf-cli/node_modules/.bin:$(ROOT)/.venv/bin:$(PATH)
export SF_DISABLE_TELEMETRY := true
export SF_DISABLE_AUTOUPDATE := true
INTEGRATION_USER ?= sixsense.integration@example.com
SCENARIO ?= new_customer
PYTEST_ARGS ?=
# More workers than the 2 cores CI has: most of a flow test is spent waiting on the simulator, cci's
# Metadata API polls and the sf CLI, so 4 workers finish sooner than 2 (measured on 2 cores: pytest -n 4
# 2 min 56 s, -n 2 4 min 5 s).
PYTEST_WORKERS ?= 4

.PHONY: setup demo fleet test lint format runbooks sweep bench mutate

setup:
	@scripts/setup

## Run sixsense_new_customer against the simulated org, the autopilot playing the operator.
demo: setup
	@echo "demo: runs sixsense_new_customer, the connected-app procedure of 6sense's article; its diagnosis recommends sixsense_eca, 6sense's current method for new customers (README: which flow)."
	scripts/with-sim $(SCENARIO) --autopilot -- \
	  cci flow run sixsense_new_customer --org sim \
	    -o sixsense_validate_inputs__integration_username $(INTEGRATION_USER) \
	    -o sixsense_validate_inputs__interactive True \
	    -o sixsense_validate_inputs__confirm_production True \
	    -o sixsense_validate_inputs__poll_interval 1 \
	    -o sixsense_verify__refresh_token_policy_checked True

## The fleet demo: diagnose every bundled scenario as a simulated org, all at once, on Prefect's local mode
## (no server; PREFECT_HOME is .sixsense/fleet/prefect). Prints the summary and the report paths (README: Fleet).
FLEET_ARGS ?=
fleet: setup
	.venv-fleet/bin/python -m fleet demo $(FLEET_ARGS)

## The whole test suite (lint included), in parallel.
test: setup lint
	.venv/bin/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## ruff, and import-linter's contracts (pyproject.toml [tool.importlinter]: orgsim's layers, no import cycles).
lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-logo

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

## Rewrite the "## Steps" list of each runbook (flows/*.md) from cumulusci.yml (the flow's steps and their
## descriptions) and datasets/procedure.yml (each step's name); the prose stays as written. After changing a
## flow, a task's description or the procedure table; tests/e2e/test_runbooks.py fails on a stale list.
runbooks: setup
	.venv/bin/python scripts/runbooks

## Exhaustive fault sweep (every fault kind at every request of each flow; the suite runs a sample): one
## test per point, spread over $(PYTEST_WORKERS) workers; prints "<flow>: N/M injection points converged
## (kind: n/m, ...)" and writes benchmarks/sweep-results.json. A subset, e.g. to try a change:
##   make sweep SWEEP_FLOWS=new_customer SWEEP_KINDS=reset,503 SWEEP_POINTS=1-10,40-
## (comma lists; flows with or without sixsense_; indexes 1-based, N-M, N- to the last request;
## results then go to benchmarks/sweep-results-subset.json). Failing points show the reason, not the flows'
## logs: PYTEST_ARGS=--show-capture=all brings them back. A point is CPU-bound (flow and simulator in one
## process, no latency): PYTEST_WORKERS=2 finishes as soon as 4 on 2 cores. See tests/e2e/sweep.py.
## Also the half of the flows matrix the suite leaves out (tests/e2e/test_flows.py flow_matrix: the suite
## runs every scenario with every flow once, here each pair in both modes), and the "could not read" sweep
## with every fault kind at every read (tests/tasks/test_unreadable_sweep.py, and the writing tasks':
## tests/tasks/test_unreadable_writes.py; the suite fails each read once).
sweep: setup
	.venv/bin/python -m pytest -n $(PYTEST_WORKERS) -m sweep --run-sweep --tb=short --show-capture=no \
	  tests/e2e/test_faults.py tests/e2e/test_flows.py tests/tasks/test_unreadable_sweep.py \
	  tests/tasks/test_unreadable_writes.py $(PYTEST_ARGS); \
	  status=$$?; \
	  .venv/bin/python -m tests.e2e.sweep; exit $$status

## Benchmarks: the flows (benchmarks/run.py), then the fleet's figures (benchmarks/fleet.py: 50 simulated orgs
## at 100 ms latency, concurrency 1, 4, 16; FLEET_BENCH_ORGS to change the count).
bench: setup
	.venv/bin/python benchmarks/run.py
	.venv/bin/python benchmarks/fleet.py

## Mutation testing of the safety-critical code (not part of `make test`: it takes long). Scope, tests and
## copies: pyproject.toml [tool.mutmut] and [tool.mutation-scope]; survivors judged equivalent:
## tests/mutation-equivalent.txt. Prints killed/scored per module against 85% and writes
## benchmarks/mutation-results.json. Some modules only: make mutate MUTATE_MODULES=tasks/setup_access.py
## (results in benchmarks/mutation-results-subset.json); MUTATE_CHILDREN mutants at a time (default 2).
MUTATE_MODULES ?=
mutate: setup
	scripts/mutate $(MUTATE_MODULES)
