# kemu make targets. `make up` and `make test` are the README's two set-up commands: each installs what it
# needs (Debian packages, the .venv) and is safe to run again.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_PKGS := etcd-server etcd-client iptables nftables iproute2 busybox-static util-linux procps psmisc docker-registry
PYTEST_ARGS ?=

.PHONY: deps-system install proto proto-check lint test test-slow up down status bench-store bench-api bench-control bench-node bench-net compose-image compose-up compose-down compose-test clean

# System packages the tests and the cluster use (real etcd is the reference our store is compared with).
deps-system:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/activate:
	$(PY) -m venv $(VENV)

install: deps-system $(BIN)/activate
	@$(BIN)/pip install -q --upgrade pip >/dev/null
	@$(BIN)/pip install -q -e '.[dev]'

# .proto -> Python. Generated files are committed; proto-check fails when they are stale.
proto:
	$(BIN)/python proto/generate.py

proto-check:
	$(BIN)/python proto/generate.py --check

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy etcd_raft apiserver controllers node_agent kemu

test: install proto-check lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

up: install
	$(BIN)/kemu up $(UP_ARGS)

down:
	$(BIN)/kemu down

status:
	$(BIN)/kemu status

bench-store: install
	$(BIN)/python -m bench.store $(BENCH_ARGS)

bench-api: install
	$(BIN)/python -m bench.api $(BENCH_ARGS)

bench-node: install
	$(BIN)/python -m bench.node $(BENCH_ARGS)

bench-net: install
	$(BIN)/python -m bench.net $(BENCH_ARGS)

bench-control: install
	$(BIN)/pytest -m slow -s -q tests/integration/controllers/test_bench_control.py

# Containers (podman + docker-compose here; Docker on a laptop): see deploy/README.md.
compose-image: install
	@for p in podman docker-compose debootstrap; do dpkg -s $$p >/dev/null 2>&1 || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null; done
	deploy/build-image.sh

compose-up: compose-image
	deploy/compose.sh up -d
	@echo "kubeconfig: $$(deploy/compose.sh kubeconfig)  (kubectl --kubeconfig ... get nodes)"

compose-down:
	deploy/compose.sh down -v

# Outside the default test run (builds an image; ~2 min + the build): up; etcdctl and kubectl from the host; nodes
# Ready; a busybox pod runs and logs; a node container killed -> NotReady; an etcd member killed -> still writes; down.
compose-test: compose-image
	deploy/compose-smoke.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
