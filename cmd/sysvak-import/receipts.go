package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/receipt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// receiptForm are the receipt flags of SPEC 10 that decide whether a file's outcome gets a
// receipt and what it looks like: poll, serve and unlock have them (unlock only queues receipts;
// the SMTP flags are poll's and serve's, which send them). The same config file or SYSVAK_*
// variables give every command the same answer.
type receiptForm struct {
	smtpAddr, receiptFrom, receipts string
}

func addReceiptFormFlags(fs *flag.FlagSet, o *receiptForm) {
	fs.StringVar(&o.smtpAddr, "smtp-addr", "", "SMTP submission server host:port; when set, senders get receipts (SPEC 10)")
	fs.StringVar(&o.receiptFrom, "receipt-from", "", "sender address of receipts (required with --smtp-addr)")
	fs.StringVar(&o.receipts, "receipts", "", "off, summary or annotated (default summary when --smtp-addr is set)")
}

// builder is the receipt builder the flags ask for: nil when receipts are off. Errors are usage
// errors (exit 3).
func (o *receiptForm) builder(log zerolog.Logger) (*receipt.Builder, error) {
	mode := strings.ToLower(o.receipts)
	switch {
	case mode == "" && o.smtpAddr == "":
		return nil, nil
	case mode == "":
		mode = receipt.ModeSummary
	case mode == receipt.ModeOff:
		return nil, nil
	case mode != receipt.ModeSummary && mode != receipt.ModeAnnotated:
		return nil, usagef("--receipts must be off, summary or annotated, not %q", o.receipts)
	}
	if o.smtpAddr == "" {
		return nil, usagef("--receipts %s needs --smtp-addr", mode)
	}
	if a, err := mail.ParseAddress(o.receiptFrom); err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return nil, usagef("--receipt-from must be a plain e-mail address, not %q", o.receiptFrom)
	}
	return &receipt.Builder{From: o.receiptFrom, Mode: mode, Log: log}, nil
}

// receiptFlags are SPEC 10's receipt flags of poll and serve: the form, and how to send.
type receiptFlags struct {
	receiptForm
	smtpTLS, smtpUser, smtpPasswordFile, smtpAuth string
	receiptGiveUp, receiptRetry                   time.Duration
}

func addReceiptFlags(fs *flag.FlagSet, o *receiptFlags) {
	addReceiptFormFlags(fs, &o.receiptForm)
	fs.StringVar(&o.smtpTLS, "smtp-tls", "tls", "tls (port 465), starttls (port 587) or insecure (loopback addresses only)")
	fs.StringVar(&o.smtpUser, "smtp-user", "", "SMTP user name (no AUTH when empty)")
	fs.StringVar(&o.smtpPasswordFile, "smtp-password-file", "", "file whose first line is the SMTP password (or env SYSVAK_SMTP_PASSWORD)")
	fs.StringVar(&o.smtpAuth, "smtp-auth", "password", "password (= plain), login, xoauth2 or oauthbearer (the --oauth-* flags give the token)")
	fs.DurationVar(&o.receiptGiveUp, "receipt-give-up", 72*time.Hour, "give a receipt up when it could not be delivered within this time")
	fs.DurationVar(&o.receiptRetry, "receipt-retry", 30*time.Second, "first delay before a receipt is tried again; it doubles with each attempt, up to 1h")
}

// receiptSetup is what the flags resolve to; nil when receipts are off.
type receiptSetup struct {
	from    string
	sender  *receipt.Sender
	giveUp  time.Duration
	retry   time.Duration
	builder *receipt.Builder
}

// resolve checks the flags and reads the SMTP secret. Errors are usage errors (exit 3).
func (o *receiptFlags) resolve(ctx context.Context, e *env, oauth *oauthFlags, log zerolog.Logger) (*receiptSetup, error) {
	b, err := o.builder(log)
	if err != nil || b == nil {
		return nil, err
	}
	if o.receiptGiveUp <= 0 || o.receiptRetry <= 0 {
		return nil, usagef("--receipt-give-up and --receipt-retry must be positive")
	}
	cfg := receipt.SMTPConfig{Addr: o.smtpAddr, TLS: strings.ToLower(o.smtpTLS), User: o.smtpUser, Auth: strings.ToLower(o.smtpAuth)}
	if cfg.Auth == "" {
		cfg.Auth = receipt.AuthPassword
	}
	switch cfg.Auth {
	case receipt.AuthXOAuth2, receipt.AuthOAuthBearer:
		mech, err := mailauth.ParseMechanism(cfg.Auth)
		if err != nil {
			return nil, usagef("--smtp-auth: %v", err)
		}
		a, err := oauth.saslLogin(ctx, e, mech, o.smtpUser, o.smtpAddr)
		if err != nil {
			return nil, usagef("--smtp-auth %s: %v", cfg.Auth, err)
		}
		cfg.SASL = func(ctx context.Context, retry bool) (sasl.Client, error) {
			c, _, err := a.SASLClient(ctx, retry)
			return c, err
		}
	default:
		pw, err := o.password(ctx, e)
		if err != nil {
			return nil, err
		}
		cfg.Password = pw
	}
	s, err := receipt.NewSender(cfg)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return &receiptSetup{from: o.receiptFrom, sender: s, giveUp: o.receiptGiveUp, retry: o.receiptRetry, builder: b}, nil
}

func (o *receiptFlags) password(ctx context.Context, e *env) (secret.Secret, error) {
	switch {
	case o.smtpPasswordFile != "":
		pw, err := secret.ReadFile(ctx, o.smtpPasswordFile, e.stdin)
		if err != nil {
			return pw, usagef("--smtp-password-file: %v", err)
		}
		return pw, nil
	case e.getenv("SYSVAK_SMTP_PASSWORD") != "":
		return secret.New([]byte(e.getenv("SYSVAK_SMTP_PASSWORD"))), nil
	}
	return secret.Secret{}, nil
}

// worker is the outbox worker over the state that open opens for a moment each time.
func (r *receiptSetup) worker(open receipt.OpenFunc, lock interface {
	Lock()
	Unlock()
}, owner string, log zerolog.Logger) *receipt.Worker {
	return &receipt.Worker{
		Outbox:      &receipt.BatchOutbox{Open: open, Lock: lock, Owner: owner, From: r.from},
		Sender:      r.sender,
		GiveUpAfter: r.giveUp,
		BackoffMin:  r.retry,
		BackoffMax:  max(r.retry, time.Hour),
		Log:         log,
	}
}

// waitingReceipts are the receipts `pending` shows: queued (waiting for an attempt), being sent,
// and given up (failed, with why).
func waitingReceipts(ctx context.Context, ob state.Outbox) ([]state.Receipt, error) {
	return ob.ListReceipts(ctx, state.ReceiptQueued, state.ReceiptSending, state.ReceiptFailed)
}

// receiptItem is a receipt as `pending --format json --receipts` prints it.
type receiptItem struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	FileID      string    `json:"file_id,omitempty"`
	To          string    `json:"to"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	Created     time.Time `json:"created"`
	LastError   string    `json:"last_error,omitempty"`
}

func receiptItems(rs []state.Receipt) []receiptItem {
	items := []receiptItem{}
	for _, r := range rs {
		items = append(items, receiptItem{ID: r.ID, Kind: r.Kind, FileID: r.FileID, To: r.To, Status: string(r.Status),
			Attempts: r.Attempts, NextAttempt: r.NextAttempt, Created: r.Created, LastError: r.LastError})
	}
	return items
}

// writeReceiptsText prints the receipts that wait (text format of `pending`, in lang).
func writeReceiptsText(w io.Writer, rs []state.Receipt, lang string) {
	if len(rs) == 0 {
		fmt.Fprintln(w, msg(lang, "(ingen kvittering venter)", "(no receipt waits)"))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, msg(lang, "KVITTERING\tTYPE\tFIL\tTIL\tSTATUS\tFORSØK\tNESTE\tSISTE FEIL",
		"RECEIPT\tKIND\tFILE\tTO\tSTATUS\tATTEMPTS\tNEXT\tLAST ERROR"))
	for _, r := range rs {
		next := r.NextAttempt.Local().Format("2006-01-02 15:04 MST")
		if r.Status == state.ReceiptFailed {
			next = "-"
		}
		fileID := r.FileID
		if fileID == "" {
			fileID = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Kind, fileID, r.To, r.Status, r.Attempts, next, r.LastError)
	}
	tw.Flush()
}

// printPendingReceipts is `pending --receipts`.
func printPendingReceipts(ctx context.Context, e *env, ob state.Outbox, format, lang string, log zerolog.Logger) int {
	rs, err := waitingReceipts(ctx, ob)
	if err != nil {
		return exitFor(e, log, err)
	}
	if lower(format) == "json" {
		if err := writeJSONLine(e.stdout, receiptItems(rs)); err != nil {
			return exitOperational
		}
		return exitOK
	}
	writeReceiptsText(e.stdout, rs, lang)
	return exitOK
}

// noteWaitingReceipts adds to `pending`'s text how many receipts wait or were given up (in lang).
func noteWaitingReceipts(ctx context.Context, w io.Writer, ob state.Outbox, lang string) {
	rs, err := waitingReceipts(ctx, ob)
	if err != nil || len(rs) == 0 {
		return
	}
	failed := 0
	for _, r := range rs {
		if r.Status == state.ReceiptFailed {
			failed++
		}
	}
	fmt.Fprintf(w, "\n"+msg(lang, "%d kvittering(er) venter på å bli sendt, %d gitt opp (sysvak-import pending --receipts)",
		"%d receipt(s) wait to be sent, %d given up (sysvak-import pending --receipts)")+"\n", len(rs)-failed, failed)
}

// builderOf is the receipt builder of a setup (nil: receipts are off).
func (r *receiptSetup) builderOf() *receipt.Builder {
	if r == nil {
		return nil
	}
	return r.builder
}

// withMessageReceipts is st recording, with each message the mailbox hands it, the receipts of
// that message (b nil, receipts off: st itself).
func withMessageReceipts(st state.Store, b *receipt.Builder) state.Store {
	if b == nil {
		return st
	}
	return receipt.WithMessageReceipts(st, b)
}

// startServeReceipts runs the receipt worker while serve runs (serve holds the state open, so the
// worker claims from it directly). It returns the function that stops it and the one that wakes
// it (after a poll pass or a console unlock queued receipts); with receipts off (rs nil), nothing
// runs.
func startServeReceipts(ctx context.Context, rs *receiptSetup, st state.Outbox, log zerolog.Logger) (stop, wake func()) {
	if rs == nil {
		return func() {}, func() {}
	}
	w := &receipt.Worker{Outbox: &receipt.StateOutbox{St: st, Owner: "serve", From: rs.from}, Sender: rs.sender,
		GiveUpAfter: rs.giveUp, BackoffMin: rs.retry, BackoffMax: max(rs.retry, time.Hour), Log: log}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	wakeup := make(chan struct{}, 1)
	go func() {
		defer close(done)
		_ = w.Run(ctx, wakeup)
	}()
	stop = func() {
		cancel()
		<-done
	}
	wake = func() {
		select {
		case wakeup <- struct{}{}:
		default:
		}
	}
	return stop, wake
}
