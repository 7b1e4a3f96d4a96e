# The test command of the README; .ci/run calls it on a fresh clone.
GO ?= go

.PHONY: test test-deps test-short fuzz run build

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
