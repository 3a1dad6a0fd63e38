# attain — see README.md. Every target is phony: make decides nothing by file dates.
.PHONY: build run test bench bench-ingest bench-compute bench-report bench-run bench-scale bench-scaleout bench-cold bench-history lint fuzz clean

GO    ?= go
BIN   := bin/attain
DEMO  := demo
# The demo data ends on this date; make run reports as of it.
AS_OF := 2026-10-31

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/attain

# The main job on bundled demo data: a synthetic inbox is generated once into
# demo/inbox (deterministic, seed 1). A new demo warehouse first gets the
# program's history: the nightly run of the day before, and the month ends of
# the year before as each was known then (for the Trend); then the job runs as
# of AS_OF, as it would tonight, and its alerts are what changed since yesterday.
DAY_BEFORE := 2026-10-30
YEAR_BEFORE := 2025-10-31
run: build
	@test -d $(DEMO)/inbox || $(BIN) gen --out $(DEMO)/inbox --orgs 200 --to $(AS_OF) --log-format text
	@test -d $(DEMO)/warehouse || { \
		$(BIN) run --inbox $(DEMO)/inbox --warehouse $(DEMO)/warehouse --reports $(DEMO)/reports --as-of $(DAY_BEFORE) --log-format text && \
		$(BIN) backfill --warehouse $(DEMO)/warehouse --reports $(DEMO)/reports --from $(YEAR_BEFORE) --to $(DAY_BEFORE) \
			--every month --report-every none --as-known --log-format text; }
	$(BIN) run --inbox $(DEMO)/inbox --warehouse $(DEMO)/warehouse --reports $(DEMO)/reports --as-of $(AS_OF) \
		--metrics-file $(DEMO)/metrics.prom --log-format text

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

bench: bench-ingest bench-compute bench-report bench-run bench-cold

# A small program's first run: cold and warm run, ingest's cost a file, the
# disk's floor for a small file (600 organizations, two years).
bench-cold: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what cold --attain $(BIN)

# One revenue file landed by attain against DuckDB's copy: 11,500 organizations
# give 5.9 million rows; INGEST_ORGS=5900 INGEST_DIR=bench-data/ingest-3m, 3 million.
INGEST_ORGS ?= 11500
INGEST_DIR ?= bench-data
bench-ingest: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what ingest --attain $(BIN) --orgs $(INGEST_ORGS) --dir $(INGEST_DIR)

# The nightly job at 20,000 organizations: a cold run, a warm run with one new
# day, one date's compute and a month of daily dates backfilled with reports
# (a year of them is bench-history's).
bench-run: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what run --attain $(BIN) --backfill-days 31

bench-report:
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what report

bench-compute: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what compute --attain $(BIN)

# The nightly job at 20,000 and 100,000 organizations (ORGS=20000,100000,400000
# for more); the generated inboxes are kept in bench-data/scale-<orgs>/gen.
ORGS ?= 20000,100000
bench-scale: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what scale --attain $(BIN) --scale-orgs $(ORGS)

# One compute process at 100,000 organizations against each of the 4 shards of
# --shard i/4 run alone (as on 4 machines); needs make bench-scale's warehouse.
bench-scaleout: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what scaleout --attain $(BIN)

# Backfills against one date's compute at 20,000 organizations (COMPUTE_ORGS
# for another scale): a year of daily dates, --as-known over 52 weekly dates,
# and with YEARS=3 three years of daily dates on data generated three years back.
COMPUTE_ORGS ?= 20000
YEARS ?= 2
bench-history: build
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench --what history --attain $(BIN) --compute-orgs $(COMPUTE_ORGS) --history-years $(YEARS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# A few minutes of the row parser's fuzz target; keep what it finds in ingest/testdata/fuzz.
fuzz:
	$(GO) test ./ingest -run '^$$' -fuzz FuzzRecords -fuzztime 5m

clean:
	rm -rf bin $(DEMO) bench-data
