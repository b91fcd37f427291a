package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fhi/sysvak-import/internal/console"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

type operatorFlags struct {
	config, state, passwordFile, format, logLevel, logFormat string
}

func operatorCmd() *command {
	return &command{
		name:    "operator",
		summary: "Manage the console's operator accounts: add NAME, remove NAME, list (SPEC 9).",
		usage:   "add NAME | remove NAME | list",
		examples: []string{
			"sysvak-import operator add kari --state /var/lib/sysvak      # asks for the password twice (at least 12 characters)",
			"sysvak-import operator add kari --password-file pw.txt      # or SYSVAK_OPERATOR_PASSWORD in the environment",
			"sysvak-import operator list",
			"sysvak-import operator remove kari",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &operatorFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.state, "state", "./sysvak-state", "state folder")
			fs.StringVar(&o.passwordFile, "password-file", "", "add: file whose first line is the new password; - reads stdin")
			fs.StringVar(&o.format, "format", "text", "list: text or json")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level")
			fs.StringVar(&o.logFormat, "log-format", "", "json or console")
			return o
		},
		run: runOperator,
	}
}

func runOperator(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*operatorFlags)
	want := map[string]int{"add": 2, "remove": 2, "list": 1}
	if len(args) == 0 || want[args[0]] != len(args) {
		fmt.Fprintln(e.stderr, "sysvak-import operator: use `operator add NAME`, `operator remove NAME` or `operator list` (see -h)")
		return exitUsage
	}
	if args[0] == "add" && !validOperatorName(args[1]) {
		fmt.Fprintln(e.stderr, "sysvak-import operator: an operator name is 1 to 64 letters, digits, '.', '-', '_' or '@'")
		return exitUsage
	}
	log, err := newLogger(e, o.logFormat, o.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import operator: %v\n", err)
		return exitUsage
	}
	var pw secret.Secret
	if args[0] == "add" {
		if pw, err = operatorPassword(ctx, e, o.passwordFile); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import operator: %v\n", err)
			return exitUsage
		}
		defer pw.Wipe()
	}
	st, err := openConsoleState(ctx, o.state, 15*time.Second)
	if err != nil {
		return exitFor(e, log, err)
	}
	defer st.Close()
	switch args[0] {
	case "add":
		err = addOperator(ctx, e, st, args[1], pw)
	case "remove":
		err = st.RemoveOperator(ctx, args[1])
		if err == nil {
			err = st.AppendAudit(ctx, state.AuditEntry{Time: e.now().UTC(), Actor: "cli", Action: "operator_remove", Detail: args[1]})
			fmt.Fprintf(e.stdout, "operator %s removed\n", args[1])
		}
	case "list":
		err = listOperators(ctx, e, st, o.format)
	}
	switch {
	case errors.Is(err, state.ErrExists):
		fmt.Fprintf(e.stderr, "sysvak-import operator: an operator named %s exists already\n", args[1])
		return exitUsage
	case errors.Is(err, state.ErrNotFound):
		fmt.Fprintf(e.stderr, "sysvak-import operator: no operator is named %s (see `operator list`)\n", args[1])
		return exitUsage
	case err != nil:
		return exitFor(e, log, err)
	}
	return exitOK
}

// operatorPassword reads the new password: --password-file, SYSVAK_OPERATOR_PASSWORD, or the
// terminal (twice, without echo). Never a flag value.
func operatorPassword(ctx context.Context, e *env, file string) (secret.Secret, error) {
	var pw secret.Secret
	var err error
	switch {
	case file != "":
		pw, err = secret.ReadFile(ctx, file, e.stdin)
	case e.getenv("SYSVAK_OPERATOR_PASSWORD") != "":
		pw = secret.New([]byte(e.getenv("SYSVAK_OPERATOR_PASSWORD")))
	default:
		if pw, err = promptPassword(ctx, e, "Passord for operatøren (minst 12 tegn): "); err != nil {
			return pw, err
		}
		again, err := promptPassword(ctx, e, "Gjenta passordet: ")
		if err != nil {
			pw.Wipe()
			return pw, err
		}
		defer again.Wipe()
		if !again.Equal(pw) {
			pw.Wipe()
			return pw, errors.New("the two passwords differ")
		}
	}
	if err != nil {
		return pw, err
	}
	if err := console.CheckPasswordPolicy(pw.Bytes()); err != nil {
		pw.Wipe()
		return pw, err
	}
	return pw, nil
}

func addOperator(ctx context.Context, e *env, st state.Store, name string, pw secret.Secret) error {
	hash, err := console.HashPassword(pw.Bytes(), console.DefaultParams)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	if err := st.AddOperator(ctx, state.Operator{Name: name, Hash: hash, Created: now}); err != nil {
		return err
	}
	if err := st.AppendAudit(ctx, state.AuditEntry{Time: now, Actor: "cli", Action: "operator_add", Detail: name}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "operator %s added\n", name)
	return nil
}

func validOperatorName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '@') {
			return false
		}
	}
	return true
}

func listOperators(ctx context.Context, e *env, st state.Store, format string) error {
	ops, err := st.ListOperators(ctx)
	if err != nil {
		return err
	}
	now := e.now()
	if format == "json" {
		type row struct {
			Name      string    `json:"name"`
			Created   time.Time `json:"created"`
			LastLogin time.Time `json:"last_login,omitzero"`
			Locked    bool      `json:"locked"`
			Disabled  bool      `json:"disabled,omitempty"`
		}
		enc := json.NewEncoder(e.stdout)
		for _, op := range ops { // never the hash
			if err := enc.Encode(row{op.Name, op.Created, op.LastLogin, now.Before(op.LockedUntil), op.Disabled}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREATED\tLAST LOGIN\tSTATE")
	for _, op := range ops {
		last, status := "-", "active"
		if !op.LastLogin.IsZero() {
			last = op.LastLogin.Local().Format("2006-01-02 15:04")
		}
		if now.Before(op.LockedUntil) {
			status = "locked until " + op.LockedUntil.Local().Format("15:04")
		}
		if op.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", op.Name, op.Created.Local().Format("2006-01-02 15:04"), last, status)
	}
	if len(ops) == 0 {
		fmt.Fprintln(tw, "(no operators: add one with `sysvak-import operator add NAME`)")
	}
	return tw.Flush()
}
