package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
)

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

type validateFlags struct {
	commonFlags
	reportDir string
	annotate  string
}

func validateCmd() *command {
	return &command{
		name:    "validate",
		summary: "Pre-validate files for vaccinators: read, check and print the report. Writes nothing but what --report/--annotate ask for; no ledger.",
		usage:   "FILE...",
		examples: []string{
			"sysvak-import validate vaksiner.xlsx",
			"sysvak-import validate --lang en --format json vaksiner.xlsx",
			"sysvak-import validate --password-file pw.txt --report ./rapporter vaksiner.xlsx.gpg",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &validateFlags{}
			addCommon(fs, &o.commonFlags)
			fs.StringVar(&o.reportDir, "report", "", "also write DIR/<file-id>/report.json and report.txt")
			return o
		},
		run: runValidate,
	}
}

func runValidate(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*validateFlags)
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "sysvak-import validate: name at least one FILE (see -h)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import validate: %v\n", err)
		return exitUsage
	}
	code := exitOK
	for _, path := range args {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import validate: %s: %v\n", filepath.Base(path), err)
			code = worst(code, exitFileFailed)
			continue
		}
		rep, err := importer.Validate(ctx, localInput(path, s.passwords, e.now()), s.opts)
		if err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		if o.reportDir != "" {
			if err := writeReportSet(o.reportDir, rep, o.lang); err != nil {
				return worst(code, exitFor(e, s.log, err))
			}
		}
		if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		code = worst(code, rep.ExitCode())
	}
	return code
}

// writeReportSet writes DIR/<file-id>/report.json and report.txt atomically.
func writeReportSet(dir string, rep *report.Report, lang string) error {
	set, err := outdir.Begin(dir, rep.FileID)
	if err != nil {
		return err
	}
	defer set.Abort()
	jf, err := set.Create(importer.ReportJSONFile)
	if err != nil {
		return err
	}
	if err := writeJSONLine(jf, rep); err != nil {
		return err
	}
	tf, err := set.Create(importer.ReportTextFile)
	if err != nil {
		return err
	}
	if err := rep.WriteText(tf, lang); err != nil {
		return err
	}
	return set.Commit()
}

type importFlags struct {
	commonFlags
	strict bool
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
	led, err := ledger.Open(ctx, o.state, ledger.Options{})
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer led.Close()
	im := &importer.Importer{Ledger: led, OutDir: o.out, Opts: s.opts}
	code := exitOK
	for _, path := range args {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import import: %s: %v\n", filepath.Base(path), err)
			code = worst(code, exitFileFailed)
			continue
		}
		rep, err := im.Import(ctx, localInput(path, s.passwords, e.now()))
		if err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		code = worst(code, rep.ExitCode())
	}
	return code
}
