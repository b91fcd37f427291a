package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/fhi/sysvak-import/mailbox/mime"
	"github.com/fhi/sysvak-import/mailbox/spool"
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
	defer func() {
		for i := range s.passwords {
			s.passwords[i].Wipe()
		}
	}()
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir
	var pw secret.Secret
	switch {
	case o.imapPasswordFile != "":
		pw, err = secret.ReadFile(ctx, o.imapPasswordFile, e.stdin)
		if err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import poll: --imap-password-file: %v\n", err)
			return exitUsage
		}
	case e.getenv("SYSVAK_IMAP_PASSWORD") != "":
		pw = secret.New([]byte(e.getenv("SYSVAK_IMAP_PASSWORD")))
	}
	defer pw.Wipe()
	mech, err := mailauth.ParseMechanism(o.imapAuth)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: --imap-auth: %v\n", err)
		return exitUsage
	}
	login, err := o.oauth.saslLogin(ctx, e, mech, o.imapUser, o.imapAddr)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		return exitUsage
	}
	if mech.OAuth() && (o.imapAddr == "" || o.imapUser == "") {
		fmt.Fprintln(e.stderr, "sysvak-import poll: --imap-addr and --imap-user are required")
		return exitUsage
	}
	if !mech.OAuth() && (o.imapAddr == "" || o.imapUser == "" || pw.Empty()) {
		fmt.Fprintln(e.stderr, "sysvak-import poll: --imap-addr, --imap-user and an IMAP password (--imap-password-file or SYSVAK_IMAP_PASSWORD) are required")
		return exitUsage
	}
	if o.interval <= 0 {
		fmt.Fprintln(e.stderr, "sysvak-import poll: --interval must be positive")
		return exitUsage
	}
	p, err := mailbox.New(mailbox.Config{
		Addr: o.imapAddr, TLS: lower(o.imapTLS), User: o.imapUser, Password: pw, SASL: saslOf(login),
		Mailbox: o.mailbox, ProcessedFolder: o.processedFolder, RejectedFolder: o.rejectedFolder,
		Interval: o.interval, State: o.state, Sniffer: acceptAttachment,
		Limits: mime.Limits{MaxAttachmentSize: s.opts.Limits.MaxFileSize},
	}, s.log)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		if errors.Is(err, mailbox.ErrConfig) {
			return exitUsage
		}
		return exitOperational // spool.ErrLocked (another poller) or the state folder failed
	}
	defer p.Close()
	pr := &spoolProcessor{e: e, s: s, out: o.out, state: o.state, format: o.format, lang: o.lang}
	if o.once {
		res, err := p.PollOnce(ctx)
		if err != nil {
			if errors.Is(err, mailbox.ErrConfig) {
				fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
				return exitUsage
			}
			// What this pass took before the failure is spooled and recorded: process it, then
			// report the failure (exit 4). Nothing is lost either way.
			if perr := pr.pass(context.WithoutCancel(ctx), res); perr != nil {
				s.log.Error().Err(perr).Msg("processing the files taken before the failure")
			}
			return exitFor(e, s.log, err)
		}
		if err := pr.pass(ctx, res); err != nil {
			return exitFor(e, s.log, err)
		}
		return pr.code
	}
	err = p.Run(ctx, func(ctx context.Context, res mailbox.Result) error {
		err := pr.pass(ctx, res)
		if errors.Is(err, ledger.ErrLocked) || errors.Is(err, spool.ErrLocked) {
			// Another command (unlock, import) holds the state for a while: the spooled files
			// keep status new and are taken by the next pass.
			s.log.Warn().Msg("state folder busy (another sysvak-import command runs); files wait for the next pass")
			return nil
		}
		return err
	})
	if errors.Is(err, mailbox.ErrConfig) {
		fmt.Fprintf(e.stderr, "sysvak-import poll: %v\n", err)
		return exitUsage
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return exitFor(e, s.log, err)
	}
	s.log.Info().Msg("poller stopped")
	return pr.code
}

// saslOf keeps a nil *Authenticator from becoming a non-nil mailbox.SASLAuth.
func saslOf(a *mailauth.Authenticator) mailbox.SASLAuth {
	if a == nil {
		return nil
	}
	return a
}
