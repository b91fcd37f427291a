package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

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

// promptPassword asks on the terminal without echo; without a terminal it says how to pass one.
func promptPassword(ctx context.Context, e *env, label string) (secret.Secret, error) {
	if e.prompt == nil {
		return secret.Secret{}, errors.New("no password: give --password-file FILE (or - for stdin); a prompt needs a terminal")
	}
	return e.prompt(ctx, label)
}
