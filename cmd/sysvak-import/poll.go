package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/fhi/sysvak-import/mailbox/mime"
	"github.com/fhi/sysvak-import/mailbox/spool"
	"github.com/fhi/sysvak-import/validate"
)

type pollFlags struct {
	commonFlags
	imapAddr, imapTLS, imapUser, imapPasswordFile string
	mailbox, processedFolder, rejectedFolder      string
	interval                                      time.Duration
	once, strict                                  bool
}

func pollCmd() *command {
	return &command{
		name:    "poll",
		summary: "Fetch new messages from IMAP, spool their attachments, process every file whose password is known, and move the messages.",
		usage:   "",
		examples: []string{
			"sysvak-import poll --once --imap-addr imap.example.no:993 --imap-user sysvak --imap-password-file /etc/sysvak/imap.pw",
			"SYSVAK_IMAP_PASSWORD=... sysvak-import poll --config /etc/sysvak-import.toml      # runs until stopped",
			"echo 'passord fra SMS' > ./sysvak-state/passwords/<file-id>   # picked up on the next poll",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &pollFlags{}
			addCommon(fs, &o.commonFlags)
			fs.StringVar(&o.imapAddr, "imap-addr", "", "IMAP server host:port")
			fs.StringVar(&o.imapTLS, "imap-tls", "tls", "tls, starttls or insecure (insecure only for loopback addresses)")
			fs.StringVar(&o.imapUser, "imap-user", "", "IMAP user name")
			fs.StringVar(&o.imapPasswordFile, "imap-password-file", "", "file whose first line is the IMAP password (or env SYSVAK_IMAP_PASSWORD)")
			fs.StringVar(&o.mailbox, "mailbox", "INBOX", "mailbox to read")
			fs.StringVar(&o.processedFolder, "processed-folder", "Processed", "folder for messages whose attachments were taken")
			fs.StringVar(&o.rejectedFolder, "rejected-folder", "Rejected", "folder for messages without a usable attachment")
			fs.DurationVar(&o.interval, "interval", time.Minute, "poll interval when the server has no IDLE (and to pick up dropped passwords)")
			fs.BoolVar(&o.once, "once", false, "one pass, then exit (for cron and systemd timers)")
			fs.BoolVar(&o.strict, "strict", false, "register nothing from a file that has any rejected row")
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
	if o.imapAddr == "" || o.imapUser == "" || pw.Empty() {
		fmt.Fprintln(e.stderr, "sysvak-import poll: --imap-addr, --imap-user and an IMAP password (--imap-password-file or SYSVAK_IMAP_PASSWORD) are required")
		return exitUsage
	}
	if o.interval <= 0 {
		fmt.Fprintln(e.stderr, "sysvak-import poll: --interval must be positive")
		return exitUsage
	}
	p, err := mailbox.New(mailbox.Config{
		Addr: o.imapAddr, TLS: lower(o.imapTLS), User: o.imapUser, Password: pw,
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

// spoolProcessor runs spooled files through the importer. The ledger and the spool store are
// opened per pass only, so that `pending` and `unlock` can use them between passes.
type spoolProcessor struct {
	e          *env
	s          *setup
	out, state string
	format     string
	lang       string
	code       int // worst exit code so far (waiting files and resends do not count for poll)
}

func (pr *spoolProcessor) pass(ctx context.Context, res mailbox.Result) error {
	st, err := spool.Open(ctx, pr.state, spool.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	led, err := ledger.Open(ctx, pr.state, ledger.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer led.Close()
	im := &importer.Importer{Ledger: led, OutDir: pr.out, Opts: pr.s.opts}

	// Later arrivals of files processed in an earlier pass: their reports list the arrival
	// (SPEC 5 `resent`); nothing is registered again.
	done := map[string]bool{}
	for _, r := range res.Resent {
		if done[r.FileID] {
			continue
		}
		done[r.FileID] = true
		ent, ok, err := st.Get(r.FileID)
		if err != nil {
			return err
		}
		if !ok || (ent.Status != spool.StatusProcessed && ent.Status != spool.StatusRejected) {
			continue // not processed yet: its arrivals are added when it is
		}
		rep, added, err := addArrivals(ctx, st, im, ent, nil)
		if err != nil {
			return err
		}
		if added {
			if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
				return err
			}
		}
	}
	// Every new or interrupted entry, and every waiting one whose password was dropped in.
	todo, err := st.List(spool.StatusNew, spool.StatusProcessing)
	if err != nil {
		return err
	}
	dropped, err := st.DroppedPasswords()
	if err != nil {
		return err
	}
	for _, id := range dropped {
		ent, ok, err := st.Get(id)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			pr.s.log.Warn().Str("file_id", id).Msg("a password was dropped for a file id that is not in the spool; left in place")
		case ent.Status == spool.StatusWaitingPassword:
			todo = append(todo, ent)
		}
	}
	for _, ent := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A stop signal ends the pass after the current file, not in the middle of it: the file
		// runs on a context that the signal does not cancel (SPEC 6; docs/operations.md).
		rep, err := processEntry(context.WithoutCancel(ctx), st, im, ent, pr.s.passwords, pr.s.log)
		if err != nil {
			return err
		}
		if rep == nil {
			continue
		}
		if rep.Status != report.StatusWaitingPassword {
			pr.code = worst(pr.code, rep.ExitCode())
		}
		if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
			return err
		}
	}
	// Messages moved to Rejected (no usable attachment): a report each, saying why.
	for _, rej := range res.Rejected {
		rep, err := writeMessageReport(pr.out, res.Mailbox, res.UIDValidity, rej, pr.lang)
		if err != nil {
			return err
		}
		pr.code = worst(pr.code, exitFileFailed)
		if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
			return err
		}
	}
	return nil
}

// processEntry claims one spool entry and imports it with the passwords known for it (a password
// dropped into STATE/passwords/<file-id> first, then the operator's --password-file). A drop-box
// file without a usable password is removed and logged; the file keeps waiting.
func processEntry(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, known []secret.Secret, log zerolog.Logger) (*report.Report, error) {
	before := ent
	ent, claimed, err := st.Claim(ent.FileID, spool.StatusNew, spool.StatusProcessing, spool.StatusWaitingPassword)
	if err != nil || !claimed {
		return nil, err
	}
	passwords := append([]secret.Secret(nil), known...)
	pw, ok, err := st.TakePassword(ent.FileID)
	if err != nil {
		log.Warn().Str("file_id", ent.FileID).Err(err).Msg("the dropped password file held no usable password and was removed")
		if before.Status == spool.StatusWaitingPassword {
			return nil, st.SetStatus(ent.FileID, before.Status, before.LastError)
		}
	}
	if ok {
		defer pw.Wipe()
		passwords = append([]secret.Secret{pw}, passwords...)
	}
	return importEntry(ctx, st, im, ent, passwords)
}

// importEntry imports a claimed spool entry and sets its status from the report. A file whose
// stored report already names this arrival (a crash between the import and the status update) is
// not imported again: that report is used. Later arrivals of the file are then added to its report.
func importEntry(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, passwords []secret.Secret) (*report.Report, error) {
	path, err := st.Path(ent.FileID)
	if err != nil {
		return nil, err
	}
	var rep *report.Report
	if fs, known, err := im.Ledger.FileState(ent.FileID); err == nil && known && fs.Done {
		r, err := storedReport(im.OutDir, ent.FileID)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if r != nil && hasSource(r, ent.Source) {
			rep = r // this very arrival was processed before the crash
		}
	}
	if rep == nil {
		rep, err = im.Import(ctx, spoolInput(path, ent.FileName, ent.Source, passwords))
		if err != nil {
			// Leave it to be taken again by the next pass.
			_ = st.SetStatus(ent.FileID, spool.StatusNew, "")
			return nil, err
		}
	}
	status, code := spool.StatusProcessed, ""
	switch rep.Status {
	case report.StatusWaitingPassword:
		status = spool.StatusWaitingPassword
		for _, f := range rep.FileFindings() {
			code = string(f.Code)
		}
	case report.StatusFileRejected:
		status = spool.StatusRejected
		for _, f := range rep.FileFindings() {
			code = string(f.Code)
		}
	}
	if err := st.SetStatus(ent.FileID, status, code); err != nil {
		return nil, err
	}
	if status == spool.StatusWaitingPassword {
		return rep, nil
	}
	ent.Status = status
	if r, _, err := addArrivals(ctx, st, im, ent, rep); err != nil {
		return nil, err
	} else if r != nil {
		rep = r
	}
	return rep, nil
}

// addArrivals lists every later arrival of a processed file in its report (SPEC 5 `resent`),
// skipping those the report has already; rep is the current report (nil: read it from OUT). It
// is idempotent, so a pass interrupted anywhere adds no arrival twice.
func addArrivals(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, rep *report.Report) (*report.Report, bool, error) {
	if len(ent.Arrivals) == 0 {
		return rep, false, nil
	}
	if rep == nil {
		r, err := storedReport(im.OutDir, ent.FileID)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, false, err
		}
		rep = r
	}
	path, err := st.Path(ent.FileID)
	if err != nil {
		return nil, false, err
	}
	added := false
	for _, a := range ent.Arrivals {
		if rep != nil && hasSource(rep, a) {
			continue
		}
		r, err := im.Import(ctx, spoolInput(path, ent.FileName, a, nil))
		if err != nil {
			return nil, false, err
		}
		rep, added = r, true
	}
	return rep, added, nil
}

func hasSource(rep *report.Report, a spool.Arrival) bool {
	same := func(s report.Source) bool {
		return s.Kind == "mailbox" && s.Mailbox == a.Mailbox && s.UIDValidity == a.UIDValidity && s.UID == a.UID && s.MessageID == a.MessageID
	}
	if same(rep.Source) {
		return true
	}
	for _, s := range rep.Resent {
		if same(s) {
			return true
		}
	}
	return false
}

// storedReport reads OUT/<id>/report.json (os.ErrNotExist when there is none).
func storedReport(out, id string) (*report.Report, error) {
	b, err := os.ReadFile(filepath.Join(out, id, importer.ReportJSONFile))
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", id, importer.ReportJSONFile, err)
	}
	return &rep, nil
}

func spoolInput(path, name string, a spool.Arrival, passwords []secret.Secret) importer.Input {
	return importer.Input{Path: path, Name: name, Passwords: passwords, Source: report.Source{
		Kind: "mailbox", Mailbox: a.Mailbox, UIDValidity: a.UIDValidity, UID: a.UID, MessageID: a.MessageID, Received: a.Received,
	}}
}

// writeMessageReport writes OUT/<id>/report.json and report.txt for a message moved to Rejected
// (no usable attachment) and returns the report; id is derived from the mailbox, UIDVALIDITY, UID
// and Message-ID. A report written by an earlier pass is kept.
func writeMessageReport(out, mbox string, uidValidity uint32, rej mailbox.RejectedMessage, lang string) (*report.Report, error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%s", mbox, uidValidity, rej.UID, rej.MessageID)))
	id := hex.EncodeToString(sum[:8])
	if rep, err := storedReport(out, id); err == nil {
		return rep, nil // already written by an earlier pass
	}
	received := rej.Received
	if received.IsZero() {
		received = time.Now()
	}
	rep := &report.Report{
		FileID: id, FileName: "(e-post uten brukbart vedlegg)",
		Source: report.Source{Kind: "mailbox", Mailbox: mbox, UIDValidity: uidValidity, UID: rej.UID, MessageID: rej.MessageID,
			Received: received.UTC().Truncate(time.Second)},
	}
	if lang == "en" {
		rep.FileName = "(message without a usable attachment)"
	}
	rep.Received = rep.Source.Received
	for _, r := range rej.Reasons {
		args := validate.Args{"what": r.What, "detail": r.FileName}
		if r.Size > 0 {
			args["limit"] = fmt.Sprintf("%d MiB", r.Size>>20)
		}
		rep.Findings = append(rep.Findings, validate.Finding{Code: validate.Code(r.Reason), Severity: validate.SeverityError, Args: args})
	}
	rep.Finish()
	rep.Status = report.StatusFileRejected
	rep.Localize(lang)
	return rep, writeReportSet(out, rep, lang)
}

type pendingFlags struct {
	config, state, format, logLevel, logFormat string
}

func pendingCmd() *command {
	return &command{
		name:    "pending",
		summary: "List spooled files that wait for a password (id, received, sender, file name, size).",
		examples: []string{
			"sysvak-import pending --state /var/lib/sysvak",
			"sysvak-import pending --format json",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &pendingFlags{}
			fs.StringVar(&o.config, "config", "", "TOML config file")
			fs.StringVar(&o.state, "state", "./sysvak-state", "state folder")
			fs.StringVar(&o.format, "format", "text", "text or json")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level")
			fs.StringVar(&o.logFormat, "log-format", "", "json or console")
			return o
		},
		run: runPending,
	}
}

func runPending(ctx context.Context, e *env, opts any, args []string, _ map[string]string) int {
	o := opts.(*pendingFlags)
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import pending: takes no arguments (see -h)")
		return exitUsage
	}
	log, err := newLogger(e, o.logFormat, o.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import pending: %v\n", err)
		return exitUsage
	}
	st, err := spool.Open(ctx, o.state, spool.Options{Timeout: 15 * time.Second})
	if err != nil {
		return exitFor(e, log, err)
	}
	defer st.Close()
	list, err := st.List(spool.StatusWaitingPassword)
	if err != nil {
		return exitFor(e, log, err)
	}
	if lower(o.format) == "json" {
		type item struct {
			ID        string    `json:"id"`
			Received  time.Time `json:"received"`
			Sender    string    `json:"sender"`
			FileName  string    `json:"file_name"`
			Size      int64     `json:"size"`
			LastError string    `json:"last_error,omitempty"`
		}
		items := []item{}
		for _, ent := range list {
			items = append(items, item{ent.FileID, ent.Received, ent.Source.Sender, ent.FileName, ent.Size, ent.LastError})
		}
		if err := writeJSONLine(e.stdout, items); err != nil {
			return exitOperational
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "(no file waits for a password)")
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSENDER\tFILE\tSIZE\tLAST ERROR")
	for _, ent := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ent.FileID, ent.Received.Local().Format("2006-01-02 15:04 MST"), ent.Source.Sender,
			ent.FileName, ent.Size, ent.LastError)
	}
	tw.Flush()
	return exitOK
}

type unlockFlags struct {
	commonFlags
	strict bool
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
			return o
		},
		run: runUnlock,
	}
}

func runUnlock(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*unlockFlags)
	if len(args) != 1 || !spool.ValidFileID(args[0]) {
		fmt.Fprintln(e.stderr, "sysvak-import unlock: name one file ID (16 hex digits, as `pending` lists them)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
		return exitUsage
	}
	s.opts.Strict = o.strict
	if len(s.passwords) == 0 {
		pw, err := promptPassword(ctx, e, "Passord for fil "+args[0]+" (fra SMS): ")
		if err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import unlock: %v\n", err)
			return exitUsage
		}
		s.passwords = []secret.Secret{pw}
	}
	defer func() {
		for i := range s.passwords {
			s.passwords[i].Wipe()
		}
	}()
	st, err := spool.Open(ctx, o.state, spool.Options{Timeout: 15 * time.Second})
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer st.Close()
	ent, ok, err := st.Get(args[0])
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if !ok {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: no spooled file has id %s (see `sysvak-import pending`)\n", args[0])
		return exitUsage
	}
	ent, claimed, err := st.Claim(ent.FileID, spool.StatusWaitingPassword, spool.StatusNew)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if !claimed {
		fmt.Fprintf(e.stderr, "sysvak-import unlock: file %s does not wait for a password (status %s)\n", ent.FileID, ent.Status)
		return exitUsage
	}
	led, err := ledger.Open(ctx, o.state, ledger.Options{LockTimeout: 15 * time.Second})
	if err != nil {
		_ = st.SetStatus(ent.FileID, spool.StatusWaitingPassword, ent.LastError)
		return exitFor(e, s.log, err)
	}
	defer led.Close()
	im := &importer.Importer{Ledger: led, OutDir: o.out, Opts: s.opts}
	rep, err := importEntry(ctx, st, im, ent, s.passwords)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if err := printReport(e.stdout, rep, o.format, o.lang); err != nil {
		return exitOperational
	}
	return rep.ExitCode()
}

// promptPassword asks on the terminal without echo; without a terminal it says how to pass one.
func promptPassword(ctx context.Context, e *env, label string) (secret.Secret, error) {
	if e.prompt == nil {
		return secret.Secret{}, errors.New("no password: give --password-file FILE (or - for stdin); a prompt needs a terminal")
	}
	return e.prompt(ctx, label)
}
