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
	strict   bool
	fhir     bool
	receipts receiptForm
}

func unlockCmd() *command {
	return &command{
		name:    "unlock",
		summary: "Supply the password of a waiting file (prompted without echo, or --password-file), then process it.",
		usage:   "ID",
		examples: []string{
			"sysvak-import unlock 3f9a2c1d0e8b7a65            # asks for the password from the SMS",
			"sysvak-import unlock 3f9a2c1d0e8b7a65 --password-file sms.txt",
			"sysvak-import unlock 3f9a2c1d0e8b7a65 --config /etc/sysvak-import.toml   # poll's receipt settings: the receipt is queued",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &unlockFlags{}
			addCommon(fs, &o.commonFlags)
			fs.BoolVar(&o.strict, "strict", false, "register nothing from a file that has any rejected row")
			addFHIRFlag(fs, &o.fhir)
			addReceiptFormFlags(fs, &o.receipts)
			return o
		},
		run: runUnlock,
	}
}

func runUnlock(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*unlockFlags)
	if len(args) != 1 || !state.ValidFileID(args[0]) {
		fmt.Fprintln(e.stderr, "sysvak-import unlock: "+msg(o.lang, "oppgi én fil-ID (16 heksadesimale sifre, slik `pending` viser dem)", "name one file ID (16 hex digits, as `pending` lists them)"))
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
		return exitUsage
	}
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir
	b, err := o.receipts.builder(s.log)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
		return exitUsage
	}
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
	rep, err := newService(st, s, o.out, b).Unlock(ctx, args[0], s.passwords)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
		return exitOperational
	}
	if b != nil {
		noteQueuedReceipts(ctx, e, st, args[0], lower(o.lang))
	}
	return rep.ExitCode()
}

// noteQueuedReceipts tells on stderr that the receipts of the file wait in the outbox: unlock
// queues them, and poll or serve (which run the outbox worker) send them.
func noteQueuedReceipts(ctx context.Context, e *env, ob state.Outbox, id, lang string) {
	rs, err := ob.ListReceipts(ctx, state.ReceiptQueued)
	if err != nil {
		return
	}
	n := 0
	for _, r := range rs {
		if r.FileID == id {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import unlock: "+msg(lang,
			fmt.Sprintf("%d kvittering(er) til avsender venter i utboksen og sendes av poll eller serve (sysvak-import pending --receipts)", n),
			fmt.Sprintf("%d receipt(s) to the sender wait in the outbox; poll or serve sends them (sysvak-import pending --receipts)", n)))
	}
}
