# Everything a developer or CI runs. GOTOOLCHAIN=local: use the installed Go.
export GOTOOLCHAIN := local
GO ?= go
DEBIAN_PACKAGES := redis-server nginx-light chromium wrk
TEST_OUTPUT ?= $(CURDIR)/test-output

.PHONY: all build run test test-unit test-deploy vet deps check-deps bench fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/server ./cmd/server

run:
	$(GO) run ./cmd/server

## deps: install the programs the tests start (Debian/Ubuntu, as root).
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES)

## check-deps: fail loudly, naming what to install, when a test dependency is missing.
check-deps:
	@missing=""; \
	for bin in redis-server redis-cli nginx chromium; do \
	  command -v $$bin >/dev/null 2>&1 || missing="$$missing $$bin"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing -- run 'make deps' as root (apt-get install $(DEBIAN_PACKAGES))" >&2; exit 1; \
	fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1; }
	$(GO) vet ./...

## test: every test, with the race detector (what CI runs).
test: check-deps vet
	@mkdir -p $(TEST_OUTPUT)
	@echo "test output (screenshots, logs): $(TEST_OUTPUT)"
	TEST_OUTPUT=$(TEST_OUTPUT) $(GO) test -race -count=1 -timeout 30m ./...
	@if [ -f deploy/check/go.mod ]; then cd deploy/check && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./...; fi
	@echo "test output (screenshots, logs): $(TEST_OUTPUT)"

## bench: the benchmark suite against the peers (not part of test).
bench:
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench; else $(GO) test -run '^$$' -bench . -benchmem ./internal/session/; fi

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
