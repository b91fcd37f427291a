package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/fsutil"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

type encryptFlags struct {
	config, passwordFile, lang string
	pgp, armor, force          bool
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
			fs.BoolVar(&o.force, "force", false, "overwrite OUT if it exists (never IN)")
			return o
		},
		run: runEncrypt,
	}
}

func runEncrypt(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*encryptFlags)
	lang := lower(o.lang)
	if len(args) != 2 {
		fmt.Fprintln(e.stderr, "sysvak-import encrypt: "+msg(o.lang, "oppgi INN.xlsx og UT (se -h)", "name IN.xlsx and OUT (see -h)"))
		return exitUsage
	}
	if lang != "nb" && lang != "en" {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: --lang must be nb or en, not %q\n", o.lang)
		return exitUsage
	}
	if o.armor && !o.pgp {
		fmt.Fprintln(e.stderr, "sysvak-import encrypt: "+msg(o.lang, "--armor krever --pgp", "--armor needs --pgp"))
		return exitUsage
	}
	in, out := args[0], args[1]
	if err := checkOutput(lang, out, o.force, in); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import encrypt: %v\n", err)
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
			msg(lang, "er ikke en ukryptert Excel-arbeidsbok (.xlsx); den ser ut som ", "is not a plain Excel workbook (.xlsx); it looks like ")+
				fileTypeOr(lang, f.Type))
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
	if n := utf8.RuneCount(pw.Bytes()); !generated && n < minPasswordRunes {
		// Office and OpenPGP encryption are only as strong as the password (issue 12).
		fmt.Fprintf(e.stderr, msg(lang,
			"sysvak-import encrypt: advarsel: passordet har bare %d tegn; bruk minst %d, eller la encrypt lage et sterkt passord (uten --password-file)\n",
			"sysvak-import encrypt: warning: the password has only %d characters; use at least %d, or let encrypt generate a strong one (without --password-file)\n"),
			n, minPasswordRunes)
	}
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
	if err := fsutil.WriteFileAtomic(out, buf.Bytes()); err != nil {
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

// minPasswordRunes is the shortest password encrypt takes without a warning.
const minPasswordRunes = 12

// fileTypeOr names a decrypt.Format.Type in lang, "an unknown file" when it has no name.
func fileTypeOr(lang, typ string) string {
	if n := validate.FileTypeName(lang, typ); n != "" {
		return n
	}
	return msg(lang, "en ukjent fil", "an unknown file")
}
