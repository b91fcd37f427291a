package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/annotate"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/internal/fsutil"
	"github.com/fhi/sysvak-import/internal/secret"
)

type validateFlags struct {
	commonFlags
	reportDir string
	annotate  string
	force     bool
}

func validateCmd() *command {
	return &command{
		name:    "validate",
		summary: "Pre-validate files for vaccinators: read, check and print the report. Writes nothing but what --report/--annotate ask for; no ledger.",
		usage:   "FILE...",
		ignored: []string{"state", "out", "password-dir", "claim-lease"},
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
			fs.BoolVar(&o.force, "force", false, "with --annotate or --report: replace the copy or a file's report set if it exists (never an input)")
			fs.StringVar(&o.annotate, "annotate", "", "write a copy of the (single) FILE with faulty cells marked and a first sheet \"Funn\" listing the findings")
			return o
		},
		run: runValidate,
	}
}

func runValidate(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*validateFlags)
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "sysvak-import validate: "+msg(o.lang, "oppgi minst én FIL (se -h)", "name at least one FILE (see -h)"))
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import validate: %v\n", err)
		return exitUsage
	}
	if o.annotate != "" && len(args) != 1 {
		fmt.Fprintln(e.stderr, "sysvak-import validate: "+msg(o.lang, "--annotate tar nøyaktig én FIL", "--annotate takes exactly one FILE"))
		return exitUsage
	}
	if o.annotate != "" {
		if err := checkOutput(o.lang, o.annotate, o.force, args...); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import validate: %v\n", err)
			return exitUsage
		}
	}
	if len(args) > 1 && (e.prompt == nil || len(s.passwords) > 0) {
		return validateMany(ctx, e, o, s, args)
	}
	code := exitOK
	for _, path := range args {
		if problem := inputProblem(o.lang, path); problem != "" {
			fmt.Fprintf(e.stderr, "sysvak-import validate: %s\n", problem)
			code = worst(code, exitFileFailed)
			continue
		}
		// With --annotate the file is decrypted once, for the check and for the copy.
		var plain *decrypt.Plain
		rep, err := withPassword(ctx, e, s, o.format, path, func(opts importer.Options) (*report.Report, error) {
			in := localInput(path, s.passwords, e.now())
			if o.annotate != "" {
				plain.Close()
				plain = unwrapLocal(ctx, s, path)
				in.Plain = plain
			}
			return importer.Validate(ctx, in, opts)
		})
		defer plain.Close()
		c, stop := validated(ctx, e, o, s, plain, rep, err)
		code = worst(code, c)
		if stop {
			return code
		}
	}
	return code
}

// validateMany validates several files when no password prompt can be needed: on every core,
// with the reports given in the order of the files (importer.ValidateFiles).
func validateMany(ctx context.Context, e *env, o *validateFlags, s *setup, args []string) int {
	code := exitOK
	var ins []importer.Input
	var at []int // ins[k] is args[at[k]]
	for i, path := range args {
		if inputProblem(o.lang, path) == "" {
			ins, at = append(ins, localInput(path, s.passwords, e.now())), append(at, i)
		}
	}
	next := 0 // the first argument not yet reported
	problems := func(upTo int) {
		for ; next < upTo; next++ {
			if problem := inputProblem(o.lang, args[next]); problem != "" {
				fmt.Fprintf(e.stderr, "sysvak-import validate: %s\n", problem)
				code = worst(code, exitFileFailed)
			}
		}
	}
	errStop := errors.New("stop")
	err := importer.ValidateFiles(ctx, ins, s.opts, runtime.GOMAXPROCS(0), func(k int, rep *report.Report, err error) error {
		problems(at[k])
		next++
		c, stop := validated(ctx, e, o, s, nil, rep, err)
		code = worst(code, c)
		if stop {
			return errStop
		}
		return nil
	})
	if err == nil {
		problems(len(args))
	}
	return code
}

// validated writes what validate writes for one file (the annotated copy, the report set, the
// printed report) and says its exit code; stop: the run cannot go on (an operational error).
func validated(ctx context.Context, e *env, o *validateFlags, s *setup, plain *decrypt.Plain, rep *report.Report, err error) (int, bool) {
	if err != nil {
		return exitFor(e, s.log, err), true
	}
	code := exitOK
	if o.annotate != "" {
		if err := writeAnnotated(ctx, s, plain, rep, o.annotate); err != nil {
			if !errors.Is(err, annotate.ErrNotAnnotatable) {
				return exitFor(e, s.log, err), true
			}
			fmt.Fprintf(e.stderr, "sysvak-import validate: %s\n", msg(o.lang,
				"kan ikke lage en kommentert kopi av en fil som ikke kan åpnes; se rapporten",
				"cannot annotate a file that cannot be opened; see the report"))
		}
	}
	if o.reportDir != "" {
		if problem := reportSetExists(o.lang, o.reportDir, rep.FileID, o.force); problem != "" {
			fmt.Fprintf(e.stderr, "sysvak-import validate: %s\n", problem)
			code = worst(code, exitUsage)
		} else if err := importer.WriteReportSet(o.reportDir, rep, o.lang); err != nil {
			return worst(code, exitFor(e, s.log, err)), true
		}
	}
	if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
		return worst(code, exitFor(e, s.log, err)), true
	}
	return worst(code, rep.ExitCode()), false
}

// unwrapLocal decrypts a local file within the limits; nil when it cannot be opened (the
// validation run then reports why).
func unwrapLocal(ctx context.Context, s *setup, path string) *decrypt.Plain {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() > s.opts.Limits.MaxFileSize {
		return nil
	}
	// A plain workbook's Plain reads from the reader it was given: give it the bytes, not f,
	// which is closed on return.
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()))
	if err != nil {
		return nil
	}
	plain, err := decrypt.Unwrap(ctx, bytes.NewReader(data), int64(len(data)), s.passwords, s.opts.Limits.Limits)
	if err != nil {
		return nil
	}
	return plain
}

// writeAnnotated writes validate's annotated copy of the file (plain: as the validation run
// read it) to out, with its findings marked. An encrypted input gives an encrypted copy, with
// the password that opened it.
func writeAnnotated(ctx context.Context, s *setup, plain *decrypt.Plain, rep *report.Report, out string) error {
	if plain == nil {
		return annotate.ErrNotAnnotatable
	}
	o := annotate.Options{Lang: s.opts.Lang, Mapping: s.opts.Mapping, Read: workbook.Options{
		UnzipSizeLimit: s.opts.Limits.MaxUnzipSize, TmpDir: s.opts.TmpDir, MaxRows: s.opts.Limits.MaxRows,
	}}
	if plain.PasswordIndex >= 0 {
		o.Password = s.passwords[plain.PasswordIndex]
	}
	var buf bytes.Buffer
	if err := annotate.WriteWith(ctx, plain.ReaderAt, plain.Size, rep.Findings, &buf, o); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(out, buf.Bytes())
}

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
