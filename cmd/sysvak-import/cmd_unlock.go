package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

type unlockFlags struct {
	commonFlags
	strict bool
	fhir   bool
}

func unlockCmd() *command {
	return &command{
		name:    "unlock",
		summary: "Supply the password of a waiting file (prompted without echo, or --password-file), then process it.",
		usage:   "ID",
		examples: []string{
			"sysvak-import unlock 3f9a2c1d0e8b7a65            # asks for the password from the SMS",
			"sysvak-import unlock 3f9a2c1d0e8b7a65 --password-file sms.txt",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &unlockFlags{}
			addCommon(fs, &o.commonFlags)
			fs.BoolVar(&o.strict, "strict", false, "register nothing from a file that has any rejected row")
			addFHIRFlag(fs, &o.fhir)
			return o
		},
		run: runUnlock,
	}
}

func runUnlock(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*unlockFlags)
	if len(args) != 1 || !state.ValidFileID(args[0]) {
		fmt.Fprintln(e.stderr, "sysvak-import unlock: name one file ID (16 hex digits, as `pending` lists them)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
		return exitUsage
	}
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir
	if len(s.passwords) == 0 {
		pw, err := promptPassword(ctx, e, "Passord for fil "+args[0]+" (fra SMS): ")
		if err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
			return exitUsage
		}
		s.passwords = []secret.Secret{pw}
	}
	defer wipeAll(s.passwords)
	if err := requireState(o.lang, o.state); err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
		return exitUsage
	}
	st, err := openState(ctx, o.state, o.passwordDir, 15*time.Second)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer st.Close()
	rep, err := newService(st, s, o.out).Unlock(ctx, args[0], s.passwords)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
		return exitOperational
	}
	return rep.ExitCode()
}
