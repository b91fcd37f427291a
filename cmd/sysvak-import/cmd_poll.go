package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/fhi/sysvak-import/mailbox/mime"
)

type pollFlags struct {
	commonFlags
	imapAddr, imapTLS, imapUser, imapPasswordFile string
	imapAuth                                      string
	oauth                                         oauthFlags
	mailbox, processedFolder, rejectedFolder      string
	interval                                      time.Duration
	once, strict                                  bool
	fhir                                          bool
	receipts                                      receiptFlags
}

func pollCmd() *command {
	return &command{
		name:    "poll",
		summary: "Fetch new messages from IMAP, spool their attachments, process every file whose password is known, and move the messages.",
		usage:   "",
		examples: []string{
			"sysvak-import poll --once --imap-addr imap.example.no:993 --imap-user sysvak --imap-password-file /etc/sysvak/imap.pw",
			"SYSVAK_IMAP_PASSWORD=... sysvak-import poll --config /etc/sysvak-import.toml      # runs until stopped",
			"sysvak-import poll --imap-addr outlook.office365.com:993 --imap-user vaksine@fhi.no --imap-auth xoauth2 --oauth-token-url https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token --oauth-client-id <app-id> --oauth-client-secret-file /etc/sysvak/oauth.secret --oauth-scope https://outlook.office365.com/.default",
			"echo 'passord fra SMS' > ./sysvak-state/passwords/<file-id>   # picked up on the next poll",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &pollFlags{}
			addCommon(fs, &o.commonFlags)
			fs.StringVar(&o.imapAddr, "imap-addr", "", "IMAP server host:port")
			fs.StringVar(&o.imapTLS, "imap-tls", "tls", "tls, starttls or insecure (insecure only for loopback addresses)")
			fs.StringVar(&o.imapUser, "imap-user", "", "IMAP user name")
			fs.StringVar(&o.imapPasswordFile, "imap-password-file", "", "file whose first line is the IMAP password (or env SYSVAK_IMAP_PASSWORD)")
			fs.StringVar(&o.imapAuth, "imap-auth", "password", "password, xoauth2 or oauthbearer (OAuth 2.0 access token: Exchange Online, Google; see docs/oauth.md)")
			addOAuthFlags(fs, &o.oauth)
			fs.StringVar(&o.mailbox, "mailbox", "INBOX", "mailbox to read")
			fs.StringVar(&o.processedFolder, "processed-folder", "Processed", "folder for messages whose attachments were taken")
			fs.StringVar(&o.rejectedFolder, "rejected-folder", "Rejected", "folder for messages without a usable attachment")
			fs.DurationVar(&o.interval, "interval", time.Minute, "poll interval when the server has no IDLE (and to pick up dropped passwords)")
			fs.BoolVar(&o.once, "once", false, "one pass, then exit (for cron and systemd timers)")
			fs.BoolVar(&o.strict, "strict", false, "register nothing from a file that has any rejected row")
			addFHIRFlag(fs, &o.fhir)
			addReceiptFlags(fs, &o.receipts)
			return o
		},
		run: runPoll,
	}
}

// acceptAttachment is the mailbox's content sniffer: workbooks (plain or encrypted), OpenPGP
// messages, and legacy .xls (taken so that its report can ask for .xlsx).
func acceptAttachment(head []byte) (bool, string) {
	f := decrypt.Sniff(head)
	if f.Kind == decrypt.Unsupported {
		return false, f.What
	}
	return true, f.Kind.String()
}

func runPoll(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*pollFlags)
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import poll: takes no arguments (see -h)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		return exitUsage
	}
	defer wipeAll(s.passwords)
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir
	pw, login, err := imapLogin(ctx, e, o)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		return exitUsage
	}
	defer pw.Wipe()
	rp, err := o.receipts.forPoll(ctx, e, &o.oauth, o.state, o.passwordDir, o.once, s.log)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		return exitUsage
	}
	p, err := mailbox.New(mailbox.Config{
		Addr: o.imapAddr, TLS: lower(o.imapTLS), User: o.imapUser, Password: pw, SASL: saslOf(login),
		Mailbox: o.mailbox, ProcessedFolder: o.processedFolder, RejectedFolder: o.rejectedFolder,
		Interval: o.interval, Sniffer: acceptAttachment,
		Open:       rp.openMailboxStore,
		Lock:       func() (func() error, error) { return pollLock(o.state) },
		Owner:      processOwner(),
		ClaimLease: s.claimLease,
		Shared:     pgstate.IsURL(o.state),
		Limits:     mime.Limits{MaxAttachmentSize: s.opts.Limits.MaxFileSize},
	}, s.log)
	if err != nil {
		return exitFor(e, s.log, err) // a configuration error, another poller, or the state failed
	}
	defer p.Close()
	pr := &passRunner{e: e, s: s, out: o.out, state: o.state, pwDir: o.passwordDir, format: o.format, lang: o.lang, receipts: rp}
	defer rp.start(ctx)()
	if o.once {
		res, err := p.PollOnce(ctx)
		if err != nil && !errors.Is(err, mailbox.ErrConfig) {
			// What this pass took before the failure is spooled and recorded: process it, then
			// report the failure (exit 4). Nothing is lost either way.
			if perr := pr.pass(context.WithoutCancel(ctx), res); perr != nil {
				s.log.Error().Err(perr).Msg("processing the files taken before the failure")
			}
		}
		if err == nil {
			err = pr.pass(ctx, res)
		}
		rp.sendNow(ctx)
		if err != nil {
			return exitFor(e, s.log, err)
		}
		return pr.code
	}
	err = p.Run(ctx, func(ctx context.Context, res mailbox.Result) error {
		err := pr.pass(ctx, res)
		rp.signal()
		if errors.Is(err, state.ErrLostClaim) {
			// A claim of this process ran out and another process took the file over (a
			// shared state): that process records it; this one goes on.
			s.log.Warn().Err(err).Msg("a claim was taken over by another process; it finishes that file")
			return nil
		}
		if errors.Is(err, state.ErrLocked) {
			// Another command (unlock, import) holds the state for a while: the spooled files
			// keep their status and are taken by the next pass.
			s.log.Warn().Msg("state folder busy (another sysvak-import command runs); files wait for the next pass")
			return nil
		}
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return exitFor(e, s.log, err)
	}
	s.log.Info().Msg("poller stopped")
	return pr.code
}

// imapLogin reads the IMAP password (--imap-password-file or SYSVAK_IMAP_PASSWORD) or sets up
// OAuth (--imap-auth, SPEC 11), and checks the other required flags.
func imapLogin(ctx context.Context, e *env, o *pollFlags) (secret.Secret, *mailauth.Authenticator, error) {
	var pw secret.Secret
	switch {
	case o.imapPasswordFile != "":
		p, err := secret.ReadFile(ctx, o.imapPasswordFile, e.stdin)
		if err != nil {
			return pw, nil, fmt.Errorf("--imap-password-file: %w", err)
		}
		pw = p
	case e.getenv("SYSVAK_IMAP_PASSWORD") != "":
		pw = secret.New([]byte(e.getenv("SYSVAK_IMAP_PASSWORD")))
	}
	fail := func(err error) (secret.Secret, *mailauth.Authenticator, error) {
		pw.Wipe()
		return secret.Secret{}, nil, err
	}
	mech, err := mailauth.ParseMechanism(o.imapAuth)
	if err != nil {
		return fail(fmt.Errorf("--imap-auth: %w", err))
	}
	login, err := o.oauth.saslLogin(ctx, e, mech, o.imapUser, o.imapAddr)
	if err != nil {
		return fail(err)
	}
	if mech.OAuth() && (o.imapAddr == "" || o.imapUser == "") {
		return fail(errors.New("--imap-addr and --imap-user are required"))
	}
	if !mech.OAuth() && (o.imapAddr == "" || o.imapUser == "" || pw.Empty()) {
		return fail(errors.New("--imap-addr, --imap-user and an IMAP password (--imap-password-file or SYSVAK_IMAP_PASSWORD) are required"))
	}
	if o.interval <= 0 {
		return fail(errors.New("--interval must be positive"))
	}
	return pw, login, nil
}

// passRunner runs the intake's pass after each mailbox pass. The state is opened per pass only,
// so that `pending` and `unlock` can use it between passes.
type passRunner struct {
	e          *env
	s          *setup
	out, state string
	pwDir      string
	format     string
	lang       string
	code       int // worst exit code so far (waiting files and resends do not count for poll)
	receipts   *receiptPoll
}

func (pr *passRunner) pass(ctx context.Context, res mailbox.Result) error {
	defer pr.receipts.hold()()
	st, err := openState(ctx, pr.state, pr.pwDir, 10*time.Second)
	if err != nil {
		return err
	}
	defer st.Close()
	in := intake.PassInput{}
	for _, r := range res.Rejected {
		in.Rejected = append(in.Rejected, state.Message{Mailbox: res.Mailbox, UIDValidity: res.UIDValidity, UID: r.UID,
			MessageID: r.MessageID, Received: r.Received, Rejected: r.Reasons})
	}
	return pr.receipts.service(st, pr.s, pr.out).Pass(ctx, in, pr.s.passwords, func(ev intake.Event) error {
		switch ev.Kind {
		case intake.Processed:
			pr.code = worst(pr.code, ev.Report.ExitCode())
		case intake.MessageRejected:
			pr.code = worst(pr.code, exitFileFailed)
		}
		return printReport(pr.e.stdout, ev.Report, pr.format, pr.lang)
	})
}

func wipeAll(ps []secret.Secret) {
	for i := range ps {
		ps[i].Wipe()
	}
}

// saslOf keeps a nil *Authenticator from becoming a non-nil mailbox.SASLAuth.
func saslOf(a *mailauth.Authenticator) mailbox.SASLAuth {
	if a == nil {
		return nil
	}
	return a
}
