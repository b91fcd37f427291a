package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
)

// localInput describes a local file for the pipeline.
func localInput(path string, passwords []secret.Secret, now time.Time) importer.Input {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return importer.Input{
		Path: path, Name: filepath.Base(path), Passwords: passwords,
		Source: report.Source{Kind: "local", Path: abs, Received: now.UTC().Truncate(time.Second)},
	}
}

type importFlags struct {
	commonFlags
	strict bool
	fhir   bool
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
	led, err := ledger.Open(ctx, o.state, ledger.Options{})
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer led.Close()
	im := &importer.Importer{Ledger: led, OutDir: o.out, Opts: s.opts}
	// The files share group commits (importer.Batch, issue 17); a file's report is printed once
	// its outputs are in place.
	batch := im.NewBatch()
	var unprinted []*report.Report
	// flush commits the batch and prints its reports; the error is exitFor's code.
	flush := func() (int, error) {
		if err := batch.Flush(ctx); err != nil {
			return exitFor(e, s.log, err), err
		}
		code := exitOK
		for _, rep := range unprinted {
			if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
				return exitFor(e, s.log, err), err
			}
			code = worst(code, rep.ExitCode())
		}
		unprinted = unprinted[:0]
		return code, nil
	}
	code := exitOK
	for _, path := range args {
		if problem := inputProblem(o.lang, path); problem != "" {
			fmt.Fprintf(e.stderr, "sysvak-import import: %s\n", problem)
			code = worst(code, exitFileFailed)
			continue
		}
		if batch.Full() {
			c, err := flush()
			if code = worst(code, c); err != nil {
				return code
			}
		}
		rep, err := withPassword(ctx, e, s, o.format, path, func(opts importer.Options) (*report.Report, error) {
			im.Opts = opts
			return batch.Add(ctx, localInput(path, s.passwords, e.now()))
		})
		if err != nil {
			// The files before this one are complete: commit them, then stop.
			c, _ := flush()
			return worst(worst(code, c), exitFor(e, s.log, err))
		}
		unprinted = append(unprinted, rep)
	}
	c, _ := flush()
	return worst(code, c)
}
