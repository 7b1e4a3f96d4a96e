# The test command of the README; .ci/run calls it on a fresh clone.
GO ?= go

.PHONY: test test-deps test-short fuzz run build bench bench-quick bench-deps

# Installs or starts what the tests need (PostgreSQL, versitygw), then runs them all.
test: test-deps
	$(GO) test -count=1 -timeout 60m ./...

test-deps:
	./scripts/test-deps.sh

# Skips the 1 GiB streaming test and other long cases.
test-short: test-deps
	$(GO) test -count=1 -short ./...

# Runs each fuzz target for FUZZTIME (the seed corpora run in every `make test`).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseAddress$$' -fuzztime $(FUZZTIME) .

run:
	$(GO) run ./cmd/refstore serve

build:
	$(GO) build -o refstore ./cmd/refstore

# The benchmark against nginx, a bare Go server and S3 servers (docs/performance.md).
# Results are appended to bench/results/<run>.jsonl.
bench-deps:
	./scripts/bench-deps.sh

bench: bench-deps
	$(GO) run ./bench $(BENCHFLAGS)

bench-quick: bench-deps
	$(GO) run ./bench -quick $(BENCHFLAGS)
