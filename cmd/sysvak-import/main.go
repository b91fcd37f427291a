// Command sysvak-import takes in filimport vaccination files for SYSVAK: it validates them for
// vaccinators, imports them for FHI operators (dedup against a ledger, records and reports), and
// polls an IMAP mailbox for encrypted attachments. This package is wiring only: flags, config,
// logging and exit codes (SPEC 4); the work is in importer/, validate/ and mailbox/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// exitFor is the one mapping of an error to its exit code (SPEC 4) and message: usage and
// configuration errors 3, everything else (operational) 4.
func exitFor(e *env, log zerolog.Logger, err error) int {
	var ue *usageError
	switch {
	case errors.Is(err, context.Canceled):
		log.Warn().Msg("stopped by signal; finished files are complete, the current one was not registered")
		return exitOperational
	case errors.As(err, &ue), errors.Is(err, mailbox.ErrConfig),
		errors.Is(err, intake.ErrUnknownFile), errors.Is(err, intake.ErrNotWaiting):
		fmt.Fprintf(e.stderr, "sysvak-import: %v\n", err)
		if errors.Is(err, intake.ErrUnknownFile) {
			fmt.Fprintln(e.stderr, "See `sysvak-import pending` for the files that wait for a password.")
		}
		return exitUsage
	}
	log.Error().Err(err).Msg("operational failure; the run stopped safely")
	fmt.Fprintf(e.stderr, "sysvak-import: %v\n", err)
	return exitOperational
}

// usageError is a configuration or usage error: exit code 3.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// Exit codes (SPEC 4).
const (
	exitOK          = 0 // every file processed and no row rejected
	exitRowsRejects = 1 // at least one row rejected (the run completed)
	exitFileFailed  = 2 // at least one file could not be processed (file-level error or waiting)
	exitUsage       = 3 // configuration or usage error
	exitOperational = 4 // operational failure; the run stopped safely
)

// env is the process's outside world, replaceable in tests.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// stdinTTY and stderrTTY report whether those are terminals.
	stdinTTY  bool
	stderrTTY bool
	now       func() time.Time
	// prompt asks for a password without echo; nil when there is no terminal to ask on.
	prompt func(ctx context.Context, label string) (secret.Secret, error)
}

type command struct {
	name     string
	summary  string
	usage    string // arguments, after the command name
	examples []string
	// ignored are common flags the command accepts (a shared config file may set them) but
	// does not use: -h does not list them.
	ignored []string
	flags   func(fs *flag.FlagSet) any // registers the flags; returns the options value
	run     func(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int
}

func commands() []*command {
	return []*command{validateCmd(), importCmd(), pollCmd(), pendingCmd(), unlockCmd(), templateCmd(), encryptCmd(), codesCmd(), stateCmd(),
		serveCmd(), operatorCmd(), auditCmd()}
}

// knownFlag reports whether any command has a flag of that name (for shared config files).
func knownFlag(name string) bool {
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		if fs.Lookup(name) != nil {
			return true
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		now:       time.Now,
	}
	if e.stdinTTY {
		e.prompt = func(ctx context.Context, label string) (secret.Secret, error) {
			return secret.Prompt(ctx, os.Stdin, os.Stderr, label)
		}
	}
	code := runMain(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		printVersion(e.stdout)
		return exitOK
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(e.stderr, "sysvak-import: unknown command %q\n\n", args[0])
		topUsage(e.stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts := cmd.flags(fs)
	pos, columns, err := parseArgs(fs, args[1:], e.getenv)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(e.stdout, cmd, fs)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import %s: %v\n", cmd.name, err)
		fmt.Fprintf(e.stderr, "Run 'sysvak-import %s -h' for help.\n", cmd.name)
		return exitUsage
	}
	return cmd.run(ctx, e, opts, pos, columns)
}

func topUsage(w io.Writer) {
	fmt.Fprintf(w, "sysvak-import: take in filimport vaccination files for SYSVAK.\n\nUsage: sysvak-import COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'sysvak-import COMMAND -h' for a command's flags and examples.\n")
	fmt.Fprintf(w, "Exit codes: 0 ok; 1 rows rejected; 2 a file could not be processed or waits for a password;\n3 usage or configuration error; 4 operational failure (the run stopped safely).\n")
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: sysvak-import %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.usage, c.summary)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(c.ignored, f.Name) {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = " (default " + f.DefValue + ")"
		}
		name := n
		if p := placeholder(f); p != "" {
			name += " " + p
		}
		fmt.Fprintf(w, "  --%-28s %s%s\n", name, f.Usage, def)
	}
	if len(c.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
	fmt.Fprintf(w, "\nEvery flag can also be set as SYSVAK_<FLAG> in the environment (upper case, '-' as '_')\nor as a key in the --config TOML file; flags win over the environment, which wins over the file.\n")
}

// placeholder is the value a flag takes, as -h shows it (--annotate FILE, --lang nb|en); "" for
// a boolean flag.
func placeholder(f *flag.Flag) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	switch f.Name {
	case "lang":
		return "nb|en"
	case "format":
		return "text|json"
	case "log-format":
		return "json|console"
	case "log-level":
		return "LEVEL"
	case "as-of":
		return "YYYY-MM-DD"
	case "state":
		return "DIR|URL"
	case "out", "report", "password-dir":
		return "DIR"
	case "claim-lease":
		return "DURATION"
	case "max-file-size", "max-unzip-size":
		return "MIB"
	case "imap-addr", "smtp-addr", "addr", "listen":
		return "HOST:PORT"
	case "smtp-tls":
		return "tls|starttls|insecure"
	case "smtp-auth":
		return "METHOD"
	case "smtp-user":
		return "USER"
	case "receipt-from":
		return "ADDRESS"
	case "receipts":
		return "off|summary|annotated"
	case "imap-tls":
		return "tls|starttls|insecure"
	case "imap-auth":
		return "METHOD"
	case "imap-user":
		return "USER"
	case "oauth-client-id":
		return "ID"
	case "oauth-scope":
		return "SCOPES"
	case "oauth-token-url":
		return "URL"
	case "since":
		return "DATE|TIME"
	case "tls-cert", "tls-key":
		return "FILE"
	}
	switch {
	case strings.Contains(f.Name, "file") || f.Name == "annotate" || f.Name == "config" || f.Name == "codes":
		return "FILE"
	case strings.Contains(f.Name, "folder") || f.Name == "mailbox":
		return "NAME"
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case int, int64, uint, uint64:
			return "N"
		case time.Duration:
			return "DURATION"
		}
	}
	return "VALUE"
}

// worst combines exit codes: the highest wins.
func worst(a, b int) int {
	if b > a {
		return b
	}
	return a
}
