package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/annotate"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/validate"
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
			"sysvak-import validate --annotate vaksiner-funn.xlsx vaksiner.xlsx   # open the copy in Excel to see the findings",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &validateFlags{}
			addCommon(fs, &o.commonFlags)
			fs.StringVar(&o.reportDir, "report", "", "also write DIR/<file-id>/report.json and report.txt")
			fs.StringVar(&o.annotate, "annotate", "", "write a copy of the (single) FILE with faulty cells marked and a first sheet \"Funn\" listing the findings")
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
	if o.annotate != "" && len(args) != 1 {
		fmt.Fprintln(e.stderr, "sysvak-import validate: --annotate takes exactly one FILE")
		return exitUsage
	}
	code := exitOK
	for _, path := range args {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import validate: %s: %v\n", filepath.Base(path), errWithoutPath(err))
			code = worst(code, exitFileFailed)
			continue
		}
		rep, err := withPassword(ctx, e, s, o.format, path, func(opts importer.Options) (*report.Report, error) {
			return importer.Validate(ctx, localInput(path, s.passwords, e.now()), opts)
		})
		if err != nil {
			return worst(code, exitFor(e, s.log, err))
		}
		if o.annotate != "" {
			if err := writeAnnotated(ctx, s, path, rep, o.annotate); err != nil {
				if !errors.Is(err, annotate.ErrNotAnnotatable) {
					return worst(code, exitFor(e, s.log, err))
				}
				fmt.Fprintf(e.stderr, "sysvak-import validate: %s\n", msg(o.lang,
					"kan ikke lage en kommentert kopi av en fil som ikke kan åpnes; se rapporten",
					"cannot annotate a file that cannot be opened; see the report"))
			}
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
			fmt.Fprintf(e.stderr, "sysvak-import import: %s: %v\n", filepath.Base(path), errWithoutPath(err))
			code = worst(code, exitFileFailed)
			continue
		}
		rep, err := withPassword(ctx, e, s, o.format, path, func(opts importer.Options) (*report.Report, error) {
			im.Opts = opts
			return im.Import(ctx, localInput(path, s.passwords, e.now()))
		})
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

// maxPromptTries is how often a wrong password is asked for again on a terminal.
const maxPromptTries = 3

// withPassword runs one file (run gets the options with progress set). On a terminal, an
// encrypted file without a known password makes it ask for one (without echo) before the run,
// and ask again after a wrong one; the password is then kept for the next files of the run.
// Without a terminal the file ends waiting_password / wrong_password, as in batch jobs.
func withPassword(ctx context.Context, e *env, s *setup, format, path string, run func(importer.Options) (*report.Report, error)) (*report.Report, error) {
	opts := s.opts
	if e.stderrTTY && format == "text" {
		p := &progress{w: e.stderr, lang: opts.Lang, now: e.now}
		p.begin(filepath.Base(path))
		opts.Progress = p.update
		defer p.end()
	}
	prompted := false
	if e.prompt != nil && len(s.passwords) == 0 && isEncrypted(ctx, path) {
		if err := askPassword(ctx, e, s, path); err != nil {
			return nil, err
		}
		prompted = true
	}
	for try := 1; ; try++ {
		rep, err := run(opts)
		if err != nil || !prompted || try >= maxPromptTries || !hasCode(rep, validate.FileWrongPassword) {
			return rep, err
		}
		// Earlier answers stay in the list: a file in two layers (OpenPGP around an encrypted
		// workbook) may need one password for each, and every layer tries them all.
		fmt.Fprintln(e.stderr, msg(opts.Lang, "Passordet åpner ikke filen (eller et lag i den). Prøv igjen.",
			"The password does not open the file (or a layer of it). Try again."))
		if err := askPassword(ctx, e, s, path); err != nil {
			return nil, err
		}
	}
}

func askPassword(ctx context.Context, e *env, s *setup, path string) error {
	pw, err := e.prompt(ctx, msg(s.opts.Lang, "Passord for "+filepath.Base(path)+" (fra SMS): ",
		"Password for "+filepath.Base(path)+" (from the SMS): "))
	if err != nil {
		return fmt.Errorf("password prompt: %w", err)
	}
	s.passwords = append(s.passwords, pw)
	return nil
}

// isEncrypted reports whether the file is an encrypted workbook or an OpenPGP message.
func isEncrypted(ctx context.Context, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	fm, err := decrypt.Detect(ctx, f, fi.Size())
	return err == nil && (fm.Kind == decrypt.OfficeEncrypted || fm.Kind == decrypt.OpenPGP)
}

func hasCode(rep *report.Report, c validate.Code) bool {
	for _, f := range rep.FileFindings() {
		if f.Code == c {
			return true
		}
	}
	return false
}
