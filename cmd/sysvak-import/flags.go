package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
	"github.com/rs/zerolog"
)

// commonFlags are the flags every file-processing command has (SPEC 4).
type commonFlags struct {
	config         string
	state          string
	out            string
	lang           string
	format         string
	codes          string
	asOf           string
	passwordFile   string
	passwordDir    string
	claimLease     time.Duration
	logFormat      string
	logLevel       string
	allowSynthetic bool
	dufCheckDigits bool
	maxFileSizeMiB int64
	maxUnzipMiB    int64
	maxRows        int
}

func addCommon(fs *flag.FlagSet, c *commonFlags) {
	fs.StringVar(&c.config, "config", "", "TOML config file (keys are the flag names; [columns] maps extra headers to column keys)")
	fs.StringVar(&c.state, "state", "./sysvak-state", "state folder: ledger, spool, password drop-box")
	fs.StringVar(&c.passwordDir, "password-dir", "", "password drop-box folder when the state is a PostgreSQL URL (a folder state has STATE/passwords)")
	fs.DurationVar(&c.claimLease, "claim-lease", time.Minute, "how long a claim on a file or message lasts unrenewed: a killed process's work is taken over after it")
	fs.StringVar(&c.out, "out", "./sysvak-out", "output folder: OUT/<file-id>/records.jsonl, report.json, report.txt")
	fs.StringVar(&c.lang, "lang", "nb", "language of messages: nb (Norwegian bokmål) or en")
	fs.StringVar(&c.format, "format", "text", "report on stdout: text or json")
	fs.StringVar(&c.codes, "codes", "", "CSV file replacing the built-in SYSVAK code list (code,name,atc,valid_from,valid_to)")
	fs.StringVar(&c.asOf, "as-of", "", "the date used as today for date checks, YYYY-MM-DD (default today)")
	fs.StringVar(&c.passwordFile, "password-file", "", "file whose first line is the password of encrypted files; - reads stdin")
	fs.StringVar(&c.logFormat, "log-format", "", "log format on stderr: json or console (default console on a terminal, else json)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&c.allowSynthetic, "allow-synthetic", false, "accept synthetic test ID numbers (Tenor, SyntPop) with a warning: test environments only")
	fs.BoolVar(&c.dufCheckDigits, "duf-check-digits", true, "check DUF-nummer check digits (assumed algorithm; see docs)")
	fs.Int64Var(&c.maxFileSizeMiB, "max-file-size", 50, "largest file accepted, in MiB as received")
	fs.Int64Var(&c.maxUnzipMiB, "max-unzip-size", 1024, "largest total uncompressed size of a workbook's parts, in MiB")
	fs.IntVar(&c.maxRows, "max-rows", 1<<20, "most rows read from a sheet")
}

// setup is what the common flags resolve to.
type setup struct {
	log       zerolog.Logger
	opts      importer.Options
	passwords []secret.Secret
	// claimLease is --claim-lease.
	claimLease time.Duration
}

func (c *commonFlags) resolve(ctx context.Context, e *env, columns map[string]string) (*setup, error) {
	c.lang = lower(c.lang)
	if c.lang != "nb" && c.lang != "en" {
		return nil, usagef("--lang must be nb or en, not %q", c.lang)
	}
	c.format = lower(c.format)
	if c.format != "text" && c.format != "json" {
		return nil, usagef("--format must be text or json, not %q", c.format)
	}
	log, err := newLogger(e, c.logFormat, c.logLevel)
	if err != nil {
		return nil, err
	}
	asOf := e.now()
	if c.asOf != "" {
		t, err := time.Parse("2006-01-02", c.asOf)
		if err != nil {
			return nil, usagef("--as-of must be a date YYYY-MM-DD, not %q", c.asOf)
		}
		asOf = t
	}
	codes, err := loadCodes(c.codes)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if c.maxFileSizeMiB <= 0 || c.maxUnzipMiB <= 0 || c.maxRows <= 0 {
		return nil, usagef("--max-file-size, --max-unzip-size and --max-rows must be positive")
	}
	lim := importer.DefaultLimits()
	lim.SetMaxFileSize(c.maxFileSizeMiB << 20)
	lim.MaxUnzipSize = c.maxUnzipMiB << 20
	lim.MaxRows = c.maxRows
	if c.claimLease < time.Second {
		return nil, usagef("--claim-lease must be at least 1s, not %v", c.claimLease)
	}
	s := &setup{claimLease: c.claimLease, log: log}
	s.opts = importer.Options{
		Lang: c.lang,
		Check: validate.Options{
			Codes:              codes,
			AsOf:               validate.Date{Year: asOf.Year(), Month: asOf.Month(), Day: asOf.Day()},
			AllowSynthetic:     c.allowSynthetic,
			SkipDUFCheckDigits: !c.dufCheckDigits,
		},
		Limits: lim,
		Log:    log,
	}
	mapping, err := workbook.NewMapping(columns)
	if err != nil {
		// The error lists the known keys itself (issue 12: they were listed twice).
		return nil, usagef("config [columns]: %v", err)
	}
	s.opts.Mapping = mapping
	// The checker and mapping are set up once for every file of the run (issue 17).
	if s.opts, err = s.opts.Prepare(); err != nil {
		return nil, usagef("%v", err)
	}
	if c.passwordFile != "" {
		pw, err := secret.ReadFile(ctx, c.passwordFile, e.stdin)
		if err != nil {
			return nil, usagef("--password-file: %v", err)
		}
		s.passwords = append(s.passwords, pw)
	}
	return s, nil
}

// newLogger builds the zerolog logger on stderr: JSON for machines, the console writer on a
// terminal. Log lines carry file ids, row numbers, counts and codes only (SPEC 7).
func newLogger(e *env, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(lower(level))
	if err != nil || level == "" {
		return zerolog.Logger{}, usagef("--log-level must be debug, info, warn or error, not %q", level)
	}
	var w io.Writer = e.stderr
	switch lower(format) {
	case "":
		if e.stderrTTY {
			w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: "15:04:05"}
		}
	case "console":
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: "15:04:05", NoColor: !e.stderrTTY}
	case "json":
	default:
		return zerolog.Logger{}, usagef("--log-format must be json or console, not %q", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// lower is a small helper for flag values.
func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

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
