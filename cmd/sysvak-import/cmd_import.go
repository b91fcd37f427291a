package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
)

type importFlags struct {
	commonFlags
	strict   bool
	fhir     bool
	receipts receiptForm // a file that also came by mail answers its sender (SPEC 10)
}

func importCmd() *command {
	return &command{
		name:    "import",
		summary: "Validate, dedup against the ledger, and write records and reports into --out DIR/<file-id>/.",
		usage:   "FILE...",
		examples: []string{
			"sysvak-import import --state /var/lib/sysvak --out /srv/sysvak-out innkommende/*.xlsx",
			"sysvak-import import --strict --password-file pw.txt fil.xlsx.gpg",
			"SYSVAK_LANG=en sysvak-import import --config /etc/sysvak-import.toml fil.xlsx",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &importFlags{}
			addCommon(fs, &o.commonFlags)
			fs.BoolVar(&o.strict, "strict", false, "register nothing from a file that has any rejected row")
			addFHIRFlag(fs, &o.fhir)
			addReceiptFormFlags(fs, &o.receipts)
			return o
		},
		run: runImport,
	}
}

func runImport(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*importFlags)
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "sysvak-import import: name at least one FILE (see -h)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import import: %v\n", err)
		return exitUsage
	}
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir
	b, err := o.receipts.builder(s.log)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import import: %v\n", err)
		return exitUsage
	}
	st, err := openState(ctx, o.state, o.passwordDir, time.Second)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer st.Close()
	svc := newService(st, s, o.out, b)
	code := exitOK
	hooks := intake.PathHooks{Report: func(_ string, rep *report.Report) error {
		code = worst(code, rep.ExitCode())
		return printReport(e.stdout, rep, o.format, o.lang)
	}}
	if e.stderrTTY && o.format == "text" {
		hooks.Begin = func(path string) (func(int), func()) {
			p := &progress{w: e.stderr, lang: s.opts.Lang, now: e.now}
			p.begin(filepath.Base(path))
			return p.update, p.end
		}
	}
	// The files go through intake.ImportPaths together (a group commit, issue 17), except an
	// encrypted file that needs the password prompt, which is imported alone.
	var batch []string
	importBatch := func() error {
		err := svc.ImportPaths(ctx, batch, s.passwords, e.now(), hooks)
		batch = batch[:0]
		return err
	}
	for _, path := range args {
		if problem := inputProblem(o.lang, path); problem != "" {
			fmt.Fprintf(e.stderr, "sysvak-import import: %s\n", problem)
			code = worst(code, exitFileFailed)
			continue
		}
		if e.prompt == nil || len(s.passwords) > 0 || !isEncrypted(ctx, path) {
			batch = append(batch, path)
			continue
		}
		if err := importBatch(); err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		rep, err := withPassword(ctx, e, s, o.format, path, func(opts importer.Options) (*report.Report, error) {
			return svc.WithOptions(opts).ImportPath(ctx, path, s.passwords, e.now())
		})
		if err == nil {
			err = hooks.Report(path, rep)
		}
		if err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
	}
	if err := importBatch(); err != nil {
		return worst(code, exitFor(e, s.log, err))
	}
	return code
}
