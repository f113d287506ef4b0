# Everything a developer or CI runs (docs/development.md). GOTOOLCHAIN=local:
# use the installed Go.
export GOTOOLCHAIN := local
GO ?= go
TEST_OUTPUT ?= $(CURDIR)/test-output
# DEV_FLAGS go to cmd/dev, e.g. DEV_FLAGS='-listen 127.0.0.1:8080'.
DEV_FLAGS ?=

# The programs the tests start, each as program:Debian-package.
SHORT_DEPS := redis-server:redis-server
TEST_DEPS := $(SHORT_DEPS) redis-cli:redis-tools nginx:nginx-light chromium:chromium
DEV_DEPS := $(SHORT_DEPS) nginx:nginx-light
BENCH_DEPS := $(SHORT_DEPS) wrk:wrk

.PHONY: all build run dev deps vet test test-short test-stress bench fuzz clean

all: build

## build: bin/sessiond, static, stamped with the VCS revision (sessiond version).
build:
	CGO_ENABLED=0 GOFLAGS="$(GOFLAGS) -buildvcs=auto" $(GO) build -trimpath -o bin/sessiond ./cmd/server

## run: one process, filesystem store, http://localhost:8004.
run:
	$(GO) run ./cmd/server

## dev: Redis, three replicas and nginx on loopback (cmd/dev); Ctrl-C stops them.
dev: build
	$(call ensure,$(DEV_DEPS))
	$(GO) build -o bin/dev ./cmd/dev
	bin/dev -server bin/sessiond $(DEV_FLAGS)

# ensure installs the Debian packages of the programs of $(1) that are
# missing, when it can (root, apt-get); otherwise it names the one command
# to run and fails. nginx counts when it is in /usr/sbin, off a user's PATH.
define ensure
	@missing=""; pkgs=""; \
	for pair in $(1); do \
	  prog=$${pair%%:*}; \
	  command -v $$prog >/dev/null 2>&1 || [ -x /usr/sbin/$$prog ] || { missing="$$missing $$prog"; pkgs="$$pkgs $${pair#*:}"; }; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make: missing:$$missing. Install it, then run make again:" >&2; \
	  echo "  sudo make deps      (Debian/Ubuntu: apt-get install$$pkgs)" >&2; \
	  exit 1; \
	fi; \
	echo "make: missing:$$missing; installing it: apt-get install -y$$pkgs"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$pkgs >/dev/null || exit 1; \
	for prog in $$missing; do \
	  command -v $$prog >/dev/null 2>&1 || [ -x /usr/sbin/$$prog ] || { echo "make: $$prog still missing after apt-get install$$pkgs" >&2; exit 1; }; \
	done; \
	echo "make: installed$$pkgs"
endef

## deps: install what the tests, make dev and make bench start (as root; Debian/Ubuntu).
deps:
	$(call ensure,$(TEST_DEPS) $(BENCH_DEPS))

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1; }
	$(GO) vet ./...

## test: every test, with the race detector (what CI runs); installs what is missing.
## Also vets and builds bench/, a module of its own that ./... does not reach.
test:
	$(call ensure,$(TEST_DEPS))
	@$(MAKE) --no-print-directory vet
	cd bench && $(GO) vet ./... && $(GO) build ./...
	@mkdir -p $(TEST_OUTPUT)
	@echo "test output (screenshots, logs): $(TEST_OUTPUT)"
	TEST_OUTPUT=$(TEST_OUTPUT) $(GO) test -race -count=1 -timeout 30m ./...
	cd deploy/check && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./...
	@echo "test output (screenshots, logs): $(TEST_OUTPUT)"

## test-short: the quick set (under a minute): no browser, balancer, Sentinel or Cluster.
test-short:
	$(call ensure,$(SHORT_DEPS))
	$(GO) test -short -count=1 ./...

## test-stress: the tests on a busy machine: go test -race -count=STRESS_COUNT
## over STRESS_PKGS while two busy loops run, bounded by STRESS_TIMEOUT; the
## loops are ended by their PIDs (scripts/stress; docs/testing.md).
STRESS_COUNT ?= 5
STRESS_PKGS ?= ./...
STRESS_RUN ?=
STRESS_TIMEOUT ?= 90m
STRESS_NICE ?= 0
test-stress:
	$(call ensure,$(TEST_DEPS))
	STRESS_COUNT='$(STRESS_COUNT)' STRESS_PKGS='$(STRESS_PKGS)' STRESS_RUN='$(STRESS_RUN)' \
	  STRESS_TIMEOUT='$(STRESS_TIMEOUT)' STRESS_NICE='$(STRESS_NICE)' \
	  STRESS_LOG='$(TEST_OUTPUT)/stress.log' TEST_OUTPUT=$(TEST_OUTPUT) scripts/stress

## bench: the benchmark suite against the peers (not part of test).
bench:
	$(call ensure,$(BENCH_DEPS))
	$(MAKE) -C bench

## fuzz: each fuzzer for FUZZTIME (default 30s). A package whose tests do
## not build fails the target (its fuzzers would otherwise be skipped).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "$$list" >&2; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin $(TEST_OUTPUT)
