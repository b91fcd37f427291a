package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/importer/annotate"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/importer/template"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// This file holds the vaccinator tools: template, encrypt, and the annotated copy of validate.

type templateFlags struct {
	config, codes, lang string
}

func templateCmd() *command {
	return &command{
		name:    "template",
		summary: "Write an empty filimport workbook: header, text-formatted ID columns, date format, drop-downs, input hints and instructions.",
		usage:   "OUT.xlsx",
		examples: []string{
			"sysvak-import template vaksinasjoner.xlsx",
			"sysvak-import template --codes koder.csv vaksinasjoner.xlsx   # drop-down from your own code list",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &templateFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.codes, "codes", "", "CSV file replacing the built-in SYSVAK code list (code,name,atc,valid_from,valid_to)")
			fs.StringVar(&o.lang, "lang", "nb", "language of the hints and instructions: nb or en")
			return o
		},
		run: runTemplate,
	}
}

func runTemplate(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*templateFlags)
	if len(args) != 1 {
		fmt.Fprintln(e.stderr, "sysvak-import template: name one OUT.xlsx (see -h)")
		return exitUsage
	}
	lang := lower(o.lang)
	if lang != "nb" && lang != "en" {
		fmt.Fprintf(e.stderr, "sysvak-import template: --lang must be nb or en, not %q\n", o.lang)
		return exitUsage
	}
	codes, err := loadCodes(o.codes)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitUsage
	}
	var buf bytes.Buffer
	if err := template.Write(ctx, &buf, codes, lang); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitOperational
	}
	if err := outdir.WriteFileAtomic(args[0], buf.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import template: %v\n", err)
		return exitOperational
	}
	fmt.Fprintf(e.stdout, msg(lang, "Skrev malen %s. Fyll inn én vaksinasjon per rad på arket «Vaksinasjoner»; se arket «Veiledning».\n",
		"Wrote the template %s. Enter one vaccination per row on the sheet \"Vaksinasjoner\"; see the sheet \"Veiledning\".\n"), args[0])
	return exitOK
}

type encryptFlags struct {
	config, passwordFile, lang string
	pgp, armor                 bool
}

func encryptCmd() *command {
	return &command{
		name:    "encrypt",
		summary: "Encrypt a workbook for sending by e-mail; generates a strong password and prints it (for the SMS) unless --password-file gives one.",
		usage:   "IN.xlsx OUT",
		examples: []string{
			"sysvak-import encrypt vaksinasjoner.xlsx vaksinasjoner-kryptert.xlsx   # Excel password encryption",
			"sysvak-import encrypt --pgp vaksinasjoner.xlsx vaksinasjoner.xlsx.gpg     # OpenPGP (gpg -c compatible)",
			"sysvak-import encrypt --password-file pw.txt vaksinasjoner.xlsx ut.xlsx",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &encryptFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.passwordFile, "password-file", "", "file whose first line is the password; - reads stdin (default: generate one)")
			fs.StringVar(&o.lang, "lang", "nb", "language of the messages: nb or en")
			fs.BoolVar(&o.pgp, "pgp", false, "OpenPGP password encryption (opens with gpg) instead of Excel's own")
			fs.BoolVar(&o.armor, "armor", false, "with --pgp: ASCII-armored output")
			return o
		},
		run: runEncrypt,
	}
}

func runEncrypt(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*encryptFlags)
	lang := lower(o.lang)
	if len(args) != 2 {
		fmt.Fprintln(e.stderr, "sysvak-import encrypt: name IN.xlsx and OUT (see -h)")
		return exitUsage
	}
	if lang != "nb" && lang != "en" {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: --lang must be nb or en, not %q\n", o.lang)
		return exitUsage
	}
	if o.armor && !o.pgp {
		fmt.Fprintln(e.stderr, "sysvak-import encrypt: --armor needs --pgp")
		return exitUsage
	}
	in, out := args[0], args[1]
	if same, _ := sameFile(in, out); same {
		fmt.Fprintln(e.stderr, "sysvak-import encrypt: OUT must not be IN")
		return exitUsage
	}
	data, err := os.ReadFile(in)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: %s: %v\n", filepath.Base(in), errWithoutPath(err))
		return exitFileFailed
	}
	// Only plain workbooks are encrypted: encrypting an encrypted file or a non-workbook would
	// only make a file SYSVAK rejects later.
	if f := decrypt.Sniff(data); f.Kind != decrypt.PlainWorkbook {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: %s: %s\n", filepath.Base(in),
			msg(lang, "er ikke en ukryptert Excel-arbeidsbok (.xlsx); den ser ut som "+f.What,
				"is not a plain Excel workbook (.xlsx); it looks like "+f.What))
		return exitFileFailed
	}
	generated := o.passwordFile == ""
	var pw secret.Secret
	if generated {
		pw, err = decrypt.GeneratePassword()
	} else {
		pw, err = secret.ReadFile(ctx, o.passwordFile, e.stdin)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: password: %v\n", err)
		return exitUsage
	}
	defer pw.Wipe()
	var buf bytes.Buffer
	if o.pgp {
		err = decrypt.EncryptPGP(ctx, bytes.NewReader(data), pw, &buf, o.armor)
	} else {
		err = decrypt.EncryptOffice(ctx, bytes.NewReader(data), int64(len(data)), pw, &buf)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: %v\n", err)
		return exitFileFailed
	}
	if err := outdir.WriteFileAtomic(out, buf.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: %v\n", err)
		return exitOperational
	}
	fmt.Fprintf(e.stdout, msg(lang, "Kryptert: %s\n", "Encrypted: %s\n"), out)
	if generated {
		// The one place a password is printed: the user asked for it, to send it by SMS.
		fmt.Fprintf(e.stdout, msg(lang, "Passord: %s\n", "Password: %s\n"), pw.Bytes())
	}
	fmt.Fprintln(e.stdout, msg(lang,
		"Send filen på e-post og passordet på SMS, aldri i samme e-post.",
		"Send the file by e-mail and the password by SMS, never in the same e-mail."))
	return exitOK
}

// writeAnnotated writes validate's annotated copy of the file at path to out: the workbook as
// the validation run read it, with its findings marked. An encrypted input gives an encrypted
// copy, with the password that opened it.
func writeAnnotated(ctx context.Context, s *setup, path string, rep *report.Report, out string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("annotate: %w", errWithoutPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("annotate: %w", errWithoutPath(err))
	}
	plain, err := decrypt.Unwrap(ctx, f, fi.Size(), s.passwords, s.opts.Limits.Decrypt)
	if err != nil {
		return fmt.Errorf("%w: %w", annotate.ErrNotAnnotatable, err)
	}
	defer plain.Close()
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
	return outdir.WriteFileAtomic(out, buf.Bytes())
}

func loadCodes(path string) (*validate.CodeList, error) {
	if path == "" {
		return validate.DefaultCodes(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--codes: %w", err)
	}
	defer f.Close()
	codes, err := validate.ParseCodesCSV(f)
	if err != nil {
		return nil, fmt.Errorf("--codes %s: %w", path, err)
	}
	return codes, nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// errWithoutPath drops the path from an *os.PathError: callers name the file by its base name.
func errWithoutPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func msg(lang, nb, en string) string {
	if lang == "en" {
		return en
	}
	return nb
}

// progress prints rows read and the rate on stderr, on one line rewritten in place. It is only
// used on a terminal with text output (never in pipes or JSON mode).
type progress struct {
	w     io.Writer
	lang  string
	name  string
	start time.Time
	now   func() time.Time
	shown bool
}

func (p *progress) begin(name string) {
	p.name, p.start, p.shown = name, p.now(), false
}

// update is importer.Options.Progress: called every few thousand rows.
func (p *progress) update(rows int) {
	el := p.now().Sub(p.start).Seconds()
	if el < 0.5 {
		return // small files finish before a progress line would help
	}
	p.shown = true
	rate := float64(rows) / el
	fmt.Fprintf(p.w, "\r\033[K%s: %s %s (%s %s)", p.name, groupDigits(rows), msg(p.lang, "rader lest", "rows read"),
		groupDigits(int(rate)), msg(p.lang, "rader/s", "rows/s"))
}

// end clears the progress line.
func (p *progress) end() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// groupDigits writes n with thin groups of three digits (123 456), as Norwegian does.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
