# sysvak-import: see README.md. Targets: build, test, demo, bench, lint, fuzz.
GO      ?= go
BIN     := bin/sysvak-import
DEMO    ?= $(CURDIR)/.demo
AS_OF   ?= 2026-11-23
PKGS    := ./...
# --version: the commit and a version from git when there is one.
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test demo bench lint fuzz clean soak

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sysvak-import

# Every test, including the Dovecot integration tests (they skip with a message when dovecot is
# not installed) and the fuzz seed corpora as ordinary tests.
# The packages where goroutines meet (the poller, the intake service, the state backends, the
# ledger) run under the race detector, the others without it (once each); of the workbook reader,
# the tests of its two goroutines (the inflating pipe, the row read-ahead) and of validating
# several files at once run under it too. Timed bounds of the
# hostile-input tests (mailbox/mime, importer) are not run under -race, which slows them 5-10x.
RACE_PKGS := ./mailbox ./internal/intake/... ./internal/state/... ./importer/ledger/...
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $$($(GO) list $(PKGS) | grep -v -x -e '.*/mailbox' -e '.*/internal/intake.*' -e '.*/internal/state.*' -e '.*/importer/ledger.*')
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -race -count=1 -run 'TestAheadSameRows|TestDifferentialBenchWorkbooks' ./importer/workbook/fastxlsx/
	$(GO) test -race -count=1 -run 'TestValidateFilesInOrder' ./importer/
	$(GO) test -count=1 -run 'TestDropMidFetch' ./mailbox/

# The main job on the bundled example files: import them into a fresh state and out folder under
# .demo/ and print the reports; then the mailbox path (fixtures/demo): an in-memory IMAP server in
# the demo process, mails with encrypted attachments, poll --once, pending, the SMS password, poll
# again. --as-of pins "today" so the output is the same every day.
demo: build
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "######## Part 1: files on disk (sysvak-import import) ########"
	@echo "== sysvak-import import (example files in fixtures/files) =="
	-@$(BIN) import --fhir --state $(DEMO)/state --out $(DEMO)/out --as-of $(AS_OF) --log-format console \
		fixtures/files/clean.xlsx fixtures/files/row-errors.xlsx fixtures/files/synonyms-title.xlsx \
		fixtures/files/numeric-ids-text-dates.xlsx fixtures/files/duplicates.xlsx fixtures/files/openpyxl-clean.xlsx \
		fixtures/files/not-a-workbook.xlsx; echo "exit code: $$?"
	@echo "== the same file again: recognised, nothing registered twice =="
	-@$(BIN) import --fhir --state $(DEMO)/state --out $(DEMO)/out --as-of $(AS_OF) --log-level warn fixtures/files/clean.xlsx >/dev/null; echo "exit code: $$?"
	@echo "== outputs =="
	@find $(DEMO)/out -type f | sort
	@echo "records registered: $$(cat $(DEMO)/out/*/records.jsonl | wc -l)"
	@echo "FHIR Immunization resources (--fhir, docs/fhir.md): $$(cat $(DEMO)/out/*/immunizations.ndjson | wc -l); one of them:"
	@l=$$(cat $(DEMO)/out/*/immunizations.ndjson | grep -m1 whocc); echo "$$l" | python3 -m json.tool 2>/dev/null || echo "$$l"
	@echo
	@echo "######## Part 2: files by e-mail (sysvak-import poll) ########"
	@$(GO) run ./fixtures/demo -bin $(BIN) -dir $(DEMO)/mailbox -as-of $(AS_OF)
	@echo
	@echo "######## Part 3: the operator console (sysvak-import serve) ########"
	@pw=$$(head -c 15 /dev/urandom | base64 | tr '+/' '-_'); \
		SYSVAK_OPERATOR_PASSWORD="$$pw" $(BIN) operator add demo --state $(DEMO)/mailbox/state >/dev/null && \
		echo "A demo operator was added to the demo's state: user demo, password $$pw"
	@echo "Open the console on the demo's state with:"
	@echo "  $(BIN) serve --state $(DEMO)/mailbox/state --out $(DEMO)/mailbox/out --as-of $(AS_OF)"
	@echo "and then http://127.0.0.1:8080/ in a browser (user demo, the password above; Ctrl-C stops it)."

# Issue 17's four ratios (validate 1M / unzip -p, import / validate, 500 small files / one big
# file for validate and import) in one table; then issue 6: validate end to end on generated
# 10k/100k/1M-row workbooks (cached in .bench/) against unzip -p and excelize, then the go test
# benchmarks. See scripts/bench.sh for the knobs and docs/performance.md for what they show.
bench: build
	GO='$(GO)' BIN='$(BIN)' PKGS='$(PKGS)' ./scripts/bench.sh

# Issue 7: run every Fuzz* target of every package, one after another, each for FUZZTIME (the
# targets are found in the *_test.go files, so a new one is picked up without editing this).
# New crashers land in the package's testdata/fuzz/ and then run as ordinary tests in `make test`.
# Narrow it with FUZZPKGS=./importer/... or FUZZRUN=FuzzHeader.
# FUZZMINTIME bounds the minimisation of each new input: with go's default (1m) one slow target
# (t.TempDir and fsync per input) spends its whole FUZZTIME minimising a single input.
FUZZTIME    ?= 1m
FUZZMINTIME ?= 5s
FUZZPKGS    ?= $(PKGS)
FUZZRUN     ?= .
fuzz:
	@failed=""; for p in $$($(GO) list $(FUZZPKGS)); do \
		d=$$($(GO) list -f '{{.Dir}}' $$p); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$d/*_test.go 2>/dev/null | sort -u | grep -E '$(FUZZRUN)'); do \
			echo "== $$p $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$p || failed="$$failed $$p.$$t"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed (see testdata/fuzz/)"; exit 1; fi

# Issue 16: SIGKILL one of two pollers sharing a PostgreSQL state at random moments, SOAK_RUNS
# times (make test runs 20).
SOAK_RUNS ?= 200
soak:
	SYSVAK_SOAK_RUNS=$(SOAK_RUNS) $(GO) test -count=1 -timeout 3h -run 'TestKillPollerPostgres' -v ./cmd/sysvak-import/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf bin $(DEMO)
