# The test command of the README; .ci/run calls it on a fresh clone.
GO ?= go

.PHONY: test test-deps ui-screenshots test-short fuzz fuzz-short soak crash-campaign run build bench bench-quick bench-deps

# Installs or starts what the tests need (PostgreSQL, versitygw, h2spec, nginx, the media
# tools, Chromium, Node and the npm packages of the UI's browser tests), runs them all,
# then fuzzes every fuzz target briefly:
#   1. the unit tests of every package, and again under the race detector those of the
#      packages whose point is concurrency (the cache, the limiter, the key locks, the
#      service, SQLite's group commit);
#   2. the end-to-end tests against a -race build of the server (REFSTORE_E2E_RACE=1: the
#      run fails if any server reports a data race), except the figure-producing ones;
#   3. those on the normal build: their figures (the 1 GiB stream's throughput and memory,
#      the soak's, the import's peak memory, the kills of the crash tests at random
#      instants, h2spec's timings) only mean something there, and under -race they would
#      take most of CI's budget.
E2E_FIGURES = ^(TestStreaming1GiBUploadAndDownload|TestStreamingAbortedUploadLeavesNothing|TestImportZipBombMemory|TestLoadSoak|TestCrashCampaign|TestCrashRecovery|TestH2Spec)$$
RACE_UNITS = ./metacache ./ratelimit ./internal/keylock ./service

test: test-deps
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -count=1 -timeout 20m $(RACE_UNITS)
	$(GO) test -race -count=1 -timeout 20m -run 'TestGroupCommit' ./sqlstore
	REFSTORE_E2E_RACE=1 $(GO) test -count=1 -timeout 60m -skip '$(E2E_FIGURES)' ./e2e
	$(GO) test -count=1 -timeout 60m -run '$(E2E_FIGURES)' ./e2e
	$(MAKE) fuzz-short

test-deps:
	./scripts/test-deps.sh
	./scripts/ui-deps.sh

# Rewrites docs/screenshots/ from the web UI's browser tests (docs/ui.md).
ui-screenshots: test-deps
	REFSTORE_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 ./e2e -run TestUIBrowser

# Skips the 1 GiB streaming test and other long cases.
test-short: test-deps
	$(GO) test -count=1 -short ./...

# Runs every fuzz target for FUZZTIME, one after the other (the seed corpora also run as
# plain tests in every `go test`). fuzz-short is the brief form `make test` runs.
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME)

fuzz-short:
	GO=$(GO) ./scripts/fuzz.sh 10s

# The long forms of the figure-producing tests (CI runs the short ones in `make test`).
soak:
	REFSTORE_SOAK_DURATION=10m $(GO) test ./e2e -run TestLoadSoak -v -count=1 -timeout 30m

crash-campaign:
	REFSTORE_CRASH_KILLS=200 $(GO) test ./e2e -run TestCrashCampaign -v -count=1 -timeout 120m

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
