# One entry point for people and CI. `make demo` and `make test` are the README's Quick start.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV ?= .venv
PYTHON := $(VENV)/bin/python
UV_VERSION := 0.13.9
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help venv build demo test lint typecheck rust-check pytest bench bench-record lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.synced: requirements/dev.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --python $(PYTHON) --require-hashes requirements/dev.lock
	touch $@

venv: $(VENV)/.synced ## Create the virtualenv with the locked dependencies

build: venv ## Build the Rust core into the virtualenv (release mode)
	$(VENV)/bin/maturin develop --release --quiet
	@# The editable install puts python/ on the path. The Kivy app (apps/, which the wheel
	@# carries through maturin's include) is linked in beside it, alone, so that the
	@# didrtc-client command runs from a checkout too.
	mkdir -p $(VENV)/didrtc-apps
	ln -sfn $(CURDIR)/apps $(VENV)/didrtc-apps/apps
	echo "$(abspath $(VENV))/didrtc-apps" > "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/didrtc-apps.pth"

demo: build ## Run the main job: the didrtc demo on embedded defaults
	$(VENV)/bin/didrtc demo

PYTHON_SOURCES = $(wildcard python tests benches servers apps)

lint: venv ## ruff, cargo fmt --check, cargo clippy -D warnings
	$(VENV)/bin/ruff check $(PYTHON_SOURCES)
	$(VENV)/bin/ruff format --check $(PYTHON_SOURCES)
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

typecheck: build ## mypy --strict and stubtest for the Rust core's stub
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m mypy.stubtest didrtc._core

rust-check: ## cargo test
	cargo test --locked --quiet

pytest: build ## The Python test suite, on both crypto backends
	$(VENV)/bin/pytest

test: lint typecheck rust-check pytest ## Everything CI runs: lint, types, Rust tests, pytest

bench: build ## Run the benchmarks (not part of `make test`)
	$(VENV)/bin/pytest benches --benchmark-only -p no:cacheprovider

bench-record: build ## Run the benchmarks and write docs/benchmarks.md
	$(VENV)/bin/python benches/record.py

lock: ## Re-pin requirements/dev.lock from pyproject.toml
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements/dev.lock

clean: ## Remove the virtualenv and build outputs
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache
