# sysvak-import: see README.md. Targets: build, test, demo, bench, lint, fuzz.
GO      ?= go
BIN     := bin/sysvak-import
DEMO    ?= $(CURDIR)/.demo
AS_OF   ?= 2026-11-23
PKGS    := ./...

.PHONY: all build test demo bench lint fuzz clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/sysvak-import

# Every test, including the Dovecot integration tests (they skip with a message when dovecot is
# not installed) and the fuzz seed corpora as ordinary tests.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)

# The main job on the bundled example files: import them into a fresh state and out folder under
# .demo/ and print the reports; then the mailbox path (fixtures/demo): an in-memory IMAP server in
# the demo process, mails with encrypted attachments, poll --once, pending, the SMS password, poll
# again. --as-of pins "today" so the output is the same every day.
demo: build
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "######## Part 1: files on disk (sysvak-import import) ########"
	@echo "== sysvak-import import (example files in fixtures/files) =="
	-@$(BIN) import --state $(DEMO)/state --out $(DEMO)/out --as-of $(AS_OF) --log-format console \
		fixtures/files/clean.xlsx fixtures/files/row-errors.xlsx fixtures/files/synonyms-title.xlsx \
		fixtures/files/numeric-ids-text-dates.xlsx fixtures/files/duplicates.xlsx fixtures/files/openpyxl-clean.xlsx \
		fixtures/files/not-a-workbook.xlsx; echo "exit code: $$?"
	@echo "== the same file again: recognised, nothing registered twice =="
	-@$(BIN) import --state $(DEMO)/state --out $(DEMO)/out --as-of $(AS_OF) --log-level warn fixtures/files/clean.xlsx >/dev/null; echo "exit code: $$?"
	@echo "== outputs =="
	@find $(DEMO)/out -type f | sort
	@echo "records registered: $$(cat $(DEMO)/out/*/records.jsonl | wc -l)"
	@echo
	@echo "######## Part 2: files by e-mail (sysvak-import poll) ########"
	@$(GO) run ./fixtures/demo -bin $(BIN) -dir $(DEMO)/mailbox -as-of $(AS_OF)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf bin $(DEMO)
