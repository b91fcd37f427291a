package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/mailbox/mime"
	"github.com/fhi/sysvak-import/mailbox/spool"
	"github.com/fhi/sysvak-import/validate"
)

// Reason codes of a rejected message or a skipped part (report entries, SPEC 6 "a report entry
// saying why"). The file codes are the validate ones; the mail.* codes are the mailbox's own.
const (
	CodeNoAttachment = validate.MailNoAttachment
	CodeUnreadable   = validate.MailUnreadable
	CodeTooManyParts = validate.MailTooManyParts
	CodeTooDeep      = validate.MailTooDeep
	CodeUnsupported  = validate.FileUnsupportedFormat
	CodeTooLarge     = validate.FileTooLarge
)

// Errors of a pass, for errors.Is. ErrIMAP: the server or the connection failed (retry later,
// SPEC 4 exit 4); ErrState: the state folder failed (disk full, ...: stop, exit 4).
var (
	ErrIMAP  = errors.New("mailbox: IMAP")
	ErrState = errors.New("mailbox: state folder")
)

// RejectedMessage is a message moved to the rejected folder, with why.
type RejectedMessage struct {
	UID       uint32
	MessageID string
	Received  time.Time    // the message's INTERNALDATE (when the server got it)
	Reasons   []spool.Skip // Reason is a code (CodeNoAttachment, CodeUnsupported, ...)
}

// ProcessedMessage is a message moved to the processed folder.
type ProcessedMessage struct {
	UID       uint32
	MessageID string
	FileIDs   []string     // new files
	Resent    []string     // files already in the spool
	Skipped   []spool.Skip // parts not taken (e.g. a PDF beside the workbook)
}

// Result is what one pass did.
type Result struct {
	Mailbox            string
	UIDValidity        uint32
	UIDValidityChanged bool
	Messages           int           // messages fetched and recorded in this pass
	Spooled            []spool.Entry // new spool entries
	Resent             []spool.Entry // existing entries that arrived again
	Processed          []ProcessedMessage
	Rejected           []RejectedMessage
	Moved              int // messages moved (including recorded ones left unmoved by an earlier crash)
}

// Poller polls one mailbox into one state folder. It holds the state folder's poll lock from New
// to Close. It is not safe for concurrent use.
type Poller struct {
	cfg  Config
	log  zerolog.Logger
	lock *spool.FileLock

	c         *imapclient.Client
	reloginAt time.Time // when to replace c by a login with a new token (zero: never)
	foldersOK bool
	wake      chan struct{} // new-mail signal from the unilateral data handler (IDLE)

	// hook is the crash-test seam: called at "fetched", "recorded" and "moved"; an error aborts
	// the pass there as a crash would.
	hook func(point string, uid uint32) error
}

// New validates the configuration and takes the poll lock of cfg.State (an error wrapping
// spool.ErrLocked when another poller has it). It does not connect yet.
func New(cfg Config, log zerolog.Logger) (*Poller, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l, err := spool.Lock(cfg.State)
	if err != nil {
		return nil, err
	}
	return &Poller{cfg: cfg, log: log.With().Str("component", "mailbox").Logger(), lock: l, wake: make(chan struct{}, 1)}, nil
}

// Close logs out and releases the poll lock.
func (p *Poller) Close() error {
	p.disconnect()
	return p.lock.Unlock()
}

func (p *Poller) disconnect() {
	if p.c != nil {
		_ = p.c.Logout().Wait()
		_ = p.c.Close()
		p.c = nil
	}
	p.reloginAt = time.Time{}
	p.foldersOK = false
}

// connect dials and logs in unless connected. A SASL login the server refuses is tried once
// more, on a new connection, with a new credential (SPEC 11: refresh once on a failure).
func (p *Poller) connect(ctx context.Context) error {
	if p.c != nil {
		return nil
	}
	err := p.dial(ctx, false)
	if errors.Is(err, errAuthRefused) && p.cfg.SASL != nil {
		p.log.Warn().Msg("the server refused the access token; logging in once more with a new token")
		err = p.dial(ctx, true)
	}
	return err
}

func (p *Poller) dial(ctx context.Context, fresh bool) error {
	cfg := p.cfg
	wake := p.wake
	opts := &imapclient.Options{
		// DebugWriter stays nil: it would log LOGIN.
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	tc := cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tc = tc.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	opts.TLSConfig = tc
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	var c *imapclient.Client
	switch cfg.TLS {
	case TLSInsecure:
		addr, err := loopbackAddr(ctx, cfg.Resolver, cfg.Addr)
		if err != nil {
			return err
		}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("%w: dial: %w", ErrIMAP, err)
		}
		c = imapclient.New(conn, opts)
	case TLSImplicit:
		conn, err := (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("%w: dial: %w", ErrIMAP, err)
		}
		c = imapclient.New(conn, opts)
	case TLSStart:
		conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("%w: dial: %w", ErrIMAP, err)
		}
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return fmt.Errorf("%w: starttls: %w", ErrIMAP, err)
		}
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return fmt.Errorf("%w: greeting: %w", ErrIMAP, err)
	}
	if err := p.login(ctx, c, fresh); err != nil {
		c.Close()
		return err
	}
	p.c = c
	p.log.Debug().Msg("connected")
	return nil
}

func (p *Poller) ensureFolders() error {
	if p.foldersOK {
		return nil
	}
	for _, f := range []string{p.cfg.ProcessedFolder, p.cfg.RejectedFolder} {
		if _, err := p.c.Status(f, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
			continue
		}
		if !p.alive() {
			return fmt.Errorf("%w: status %s: connection lost", ErrIMAP, f)
		}
		if err := p.c.Create(f, nil).Wait(); err != nil {
			var ie *imap.Error
			if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists {
				return fmt.Errorf("%w: create folder: %w", ErrIMAP, err)
			}
		}
		p.log.Info().Str("folder_role", roleOf(p.cfg, f)).Msg("folder created")
	}
	p.foldersOK = true
	return nil
}

func roleOf(cfg Config, f string) string {
	if f == cfg.ProcessedFolder {
		return "processed"
	}
	return "rejected"
}

func (p *Poller) alive() bool {
	select {
	case <-p.c.Closed():
		return false
	default:
		return true
	}
}

// imapErr wraps an IMAP failure. A NO/BAD response keeps the connection; anything else (network)
// drops it so that the next pass reconnects.
func (p *Poller) imapErr(op string, err error) error {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		p.disconnect()
	}
	return fmt.Errorf("%w: %s: %w", ErrIMAP, op, err)
}

// PollOnce runs one pass: connect if needed, create the folders if missing, select the mailbox,
// move messages recorded but not moved by an earlier (crashed) pass, then take every message with
// a UID above the last one recorded. It stops after the current message when ctx is cancelled
// (returning ctx's error with the partial Result).
func (p *Poller) PollOnce(ctx context.Context) (Result, error) {
	res := Result{Mailbox: p.cfg.Mailbox}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	st, err := spool.Open(ctx, p.cfg.State, spool.Options{})
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrState, err)
	}
	defer st.Close()
	if err := st.CleanTemp(); err != nil { // we hold the poll lock
		return res, fmt.Errorf("%w: %w", ErrState, err)
	}
	if p.c != nil && p.tokenExpired() {
		p.log.Debug().Msg("access token about to expire; logging in again with a new one")
		p.disconnect()
	}
	if err := p.connect(ctx); err != nil {
		return res, err
	}
	if err := p.ensureFolders(); err != nil {
		p.disconnect()
		return res, err
	}
	sel, err := p.c.Select(p.cfg.Mailbox, nil).Wait()
	if err != nil {
		return res, p.imapErr("select", err)
	}
	res.UIDValidity = sel.UIDValidity
	ms, err := st.MailboxState(p.cfg.Mailbox)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrState, err)
	}
	if ms.UIDValidity != sel.UIDValidity {
		if ms.UIDValidity != 0 {
			res.UIDValidityChanged = true
			p.log.Warn().Uint32("old_uidvalidity", ms.UIDValidity).Uint32("uidvalidity", sel.UIDValidity).
				Msg("UIDVALIDITY changed: rescanning the mailbox, recognising known messages by Message-ID and SHA-256")
		}
		ms = spool.MailboxState{UIDValidity: sel.UIDValidity}
		if err := st.SetMailboxState(p.cfg.Mailbox, ms); err != nil {
			return res, fmt.Errorf("%w: %w", ErrState, err)
		}
	}
	log := p.log.With().Uint32("uidvalidity", sel.UIDValidity).Logger()

	// Messages recorded by an earlier pass but not moved (a crash between record and move).
	if err := p.finishPendingMoves(st, sel.UIDValidity, &res, log); err != nil {
		return res, err
	}

	var uids []imap.UID
	if sel.NumMessages > 0 {
		sd, err := p.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(ms.LastUID + 1), Stop: 0}}}}, nil).Wait()
		if err != nil {
			return res, p.imapErr("uid search", err)
		}
		for _, u := range sd.AllUIDs() {
			if uint32(u) > ms.LastUID { // "N:*" includes the highest UID even when it is below N
				uids = append(uids, u)
			}
		}
		slices.Sort(uids)
	}
	if len(uids) > 0 {
		log.Info().Int("messages", len(uids)).Msg("new messages")
	}
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := p.takeMessage(ctx, st, sel.UIDValidity, uint32(uid), &res, log); err != nil {
			return res, err
		}
	}
	if res.Messages > 0 || res.Moved > 0 {
		log.Info().Int("messages", res.Messages).Int("spooled", len(res.Spooled)).Int("resent", len(res.Resent)).
			Int("rejected", len(res.Rejected)).Int("moved", res.Moved).Msg("pass done")
	}
	return res, nil
}

func (p *Poller) finishPendingMoves(st *spool.Store, uidValidity uint32, res *Result, log zerolog.Logger) error {
	pend, err := st.PendingMoves(p.cfg.Mailbox, uidValidity)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if len(pend) == 0 {
		return nil
	}
	var all imap.UIDSet
	for _, m := range pend {
		all.AddNum(imap.UID(m.UID))
	}
	sd, err := p.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{all}}, nil).Wait()
	if err != nil {
		return p.imapErr("uid search", err)
	}
	present := map[uint32]bool{}
	for _, u := range sd.AllUIDs() {
		present[uint32(u)] = true
	}
	for _, m := range pend {
		if present[m.UID] {
			if _, err := p.c.Move(imap.UIDSetNum(imap.UID(m.UID)), m.Folder).Wait(); err != nil {
				return p.imapErr("move", err)
			}
			res.Moved++
		}
		if err := st.MarkMoved(p.cfg.Mailbox, uidValidity, m.UID); err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
		log.Info().Uint32("uid", m.UID).Bool("was_present", present[m.UID]).Str("folder_role", roleOf(p.cfg, m.Folder)).
			Msg("finished the move of a message recorded earlier")
	}
	return nil
}

func (p *Poller) takeMessage(ctx context.Context, st *spool.Store, uidValidity, uid uint32, res *Result, log zerolog.Logger) error {
	// A stop (SIGINT/SIGTERM) lets the current message finish: spooled, recorded and moved.
	ctx = context.WithoutCancel(ctx)
	log = log.With().Uint32("uid", uid).Logger()
	if rec, ok, err := st.Message(p.cfg.Mailbox, uidValidity, uid); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	} else if ok && rec.Moved {
		return nil
	}
	fc := p.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
		UID: true, Envelope: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}, // BODY.PEEK[]: not marked \Seen
	})
	var (
		env      *imap.Envelope
		internal time.Time
		atts     []mime.Attachment
		skipped  []mime.Skipped
		gotBody  bool
		xerr     error
	)
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataEnvelope:
				env = it.Envelope
			case imapclient.FetchItemDataInternalDate:
				internal = it.Time
			case imapclient.FetchItemDataBodySection:
				if gotBody || xerr != nil {
					continue
				}
				gotBody = true
				atts, skipped, xerr = mime.Extract(ctx, it.Literal, p.cfg.Limits, p.cfg.Sniffer, st.TempDir())
			}
		}
	}
	if err := fc.Close(); err != nil {
		removeAll(atts)
		if xerr == nil || errors.Is(xerr, mime.ErrSource) {
			return p.imapErr("fetch", err)
		}
	}
	if xerr != nil {
		removeAll(atts)
		if errors.Is(xerr, mime.ErrSource) {
			return p.imapErr("fetch", xerr)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrState, xerr)
	}
	if !gotBody {
		log.Warn().Msg("message vanished before it was fetched")
		return nil
	}
	if err := p.callHook("fetched", uid); err != nil {
		removeAll(atts)
		return err
	}
	arr := spool.Arrival{Received: internal, Mailbox: p.cfg.Mailbox, UIDValidity: uidValidity, UID: uid}
	if env != nil {
		arr.MessageID = env.MessageID
		if len(env.From) > 0 {
			arr.Sender = env.From[0].Addr()
		}
	}
	if arr.Received.IsZero() {
		arr.Received = time.Now()
	}
	rec := &spool.MessageRecord{Mailbox: p.cfg.Mailbox, UIDValidity: uidValidity, UID: uid, MessageID: arr.MessageID}
	for _, s := range skipped {
		rec.Skipped = append(rec.Skipped, spool.Skip{FileName: s.FileName, Reason: string(reasonCode(s.Reason)), What: s.What, Size: s.Size})
	}
	if len(atts) == 0 {
		rec.Folder = p.cfg.RejectedFolder
		if len(rec.Skipped) == 0 {
			rec.Skipped = []spool.Skip{{Reason: string(CodeNoAttachment)}}
		}
		if err := st.RecordMessage(ctx, rec); err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
		res.Rejected = append(res.Rejected, RejectedMessage{UID: uid, MessageID: rec.MessageID, Received: arr.Received, Reasons: rec.Skipped})
		codes := make([]string, 0, len(rec.Skipped))
		for _, s := range rec.Skipped {
			codes = append(codes, s.Reason)
		}
		log.Info().Strs("reasons", codes).Msg("message rejected: no usable attachment")
	} else {
		rec.Folder = p.cfg.ProcessedFolder
		in := make([]spool.Incoming, 0, len(atts))
		for _, a := range atts {
			in = append(in, spool.Incoming{TempPath: a.Path, SHA256: a.SHA256, Size: a.Size, FileName: a.FileName, Kind: a.What})
		}
		cr, err := st.Commit(ctx, in, arr, rec)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
		res.Spooled = append(res.Spooled, cr.New...)
		res.Resent = append(res.Resent, cr.Resent...)
		res.Processed = append(res.Processed, ProcessedMessage{UID: uid, MessageID: rec.MessageID, FileIDs: rec.FileIDs, Resent: rec.Resent, Skipped: rec.Skipped})
		for _, e := range cr.New {
			log.Info().Str("file_id", e.FileID).Int64("size", e.Size).Str("ext", mime.Extension(e.FileName)).Str("kind", e.Kind).Msg("file spooled")
		}
		for _, e := range cr.Resent {
			log.Info().Str("file_id", e.FileID).Msg("file arrived again (resent)")
		}
	}
	res.Messages++
	if err := p.callHook("recorded", uid); err != nil {
		return err
	}
	if _, err := p.c.Move(imap.UIDSetNum(imap.UID(uid)), rec.Folder).Wait(); err != nil {
		return p.imapErr("move", err)
	}
	res.Moved++
	if err := p.callHook("moved", uid); err != nil {
		return err
	}
	if err := st.MarkMoved(p.cfg.Mailbox, uidValidity, uid); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

func (p *Poller) callHook(point string, uid uint32) error {
	if p.hook == nil {
		return nil
	}
	return p.hook(point, uid)
}

func reasonCode(r mime.Reason) validate.Code {
	switch r {
	case mime.ReasonUnsupported:
		return CodeUnsupported
	case mime.ReasonTooLarge:
		return CodeTooLarge
	case mime.ReasonTooManyParts:
		return CodeTooManyParts
	case mime.ReasonTooDeep:
		return CodeTooDeep
	}
	return CodeUnreadable
}

func removeAll(atts []mime.Attachment) {
	for _, a := range atts {
		_ = a.Remove()
	}
}
