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

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/mailbox/mime"
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
	Received  time.Time         // the message's INTERNALDATE (when the server got it)
	Reasons   []state.Rejection // Reason is one of the Reason* constants
}

// ProcessedMessage is a message moved to the processed folder.
type ProcessedMessage struct {
	UID       uint32
	MessageID string
	FileIDs   []string          // new files
	Resent    []string          // files already in the spool
	Skipped   []state.Rejection // parts not taken (e.g. a PDF beside the workbook)
}

// Result is what one pass did.
type Result struct {
	Mailbox            string
	UIDValidity        uint32
	UIDValidityChanged bool
	Messages           int          // messages fetched and recorded in this pass
	Spooled            []state.File // new files
	Resent             []state.File // known files that arrived again
	Processed          []ProcessedMessage
	Rejected           []RejectedMessage
	Moved              int // messages moved (including recorded ones left unmoved by an earlier crash)
}

// Poller polls one mailbox into one state folder. It holds the state folder's poll lock from New
// to Close. It is not safe for concurrent use.
type Poller struct {
	cfg    Config
	log    zerolog.Logger
	unlock func() error

	c         *imapclient.Client
	reloginAt time.Time // when to replace c by a login with a new token (zero: never)
	foldersOK bool
	wake      chan struct{} // new-mail signal from the unilateral data handler (IDLE)

	// hook is the crash-test seam: called at "fetched", "recorded" and "moved"; an error aborts
	// the pass there as a crash would.
	hook func(point string, uid uint32) error
}

// New validates the configuration and takes the poll lock (cfg.Lock; an error wrapping
// state.ErrLocked when another poller has it). It does not connect yet.
func New(cfg Config, log zerolog.Logger) (*Poller, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	unlock := func() error { return nil }
	if cfg.Lock != nil {
		u, err := cfg.Lock()
		if err != nil {
			return nil, err
		}
		unlock = u
	}
	return &Poller{cfg: cfg, log: log.With().Str("component", "mailbox").Logger(), unlock: unlock, wake: make(chan struct{}, 1)}, nil
}

// Close logs out and releases the poll lock.
func (p *Poller) Close() error {
	p.disconnect()
	u := p.unlock
	p.unlock = func() error { return nil }
	return u()
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
	st, err := p.cfg.Open(ctx)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrState, err)
	}
	defer st.Close()
	if p.cfg.Lock != nil { // we hold the poll lock: nobody else writes into the temp folder
		if err := cleanTemp(st.TempDir()); err != nil {
			return res, fmt.Errorf("%w: %w", ErrState, err)
		}
	}
	uidValidity, lastUID, err := p.selectMailbox(ctx, st, &res)
	if err != nil {
		return res, err
	}
	log := p.log.With().Uint32("uidvalidity", uidValidity).Logger()
	// Messages recorded by an earlier pass but not moved (a crash between record and move).
	if err := p.finishPendingMoves(ctx, st, uidValidity, &res, log); err != nil {
		return res, err
	}
	uids, err := p.newUIDs(lastUID)
	if err != nil {
		return res, err
	}
	if len(uids) > 0 {
		log.Info().Int("messages", len(uids)).Msg("new messages")
	}
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := p.takeMessage(ctx, st, uidValidity, uint32(uid), &res, log); err != nil {
			return res, err
		}
	}
	if res.Messages > 0 || res.Moved > 0 {
		log.Info().Int("messages", res.Messages).Int("spooled", len(res.Spooled)).Int("resent", len(res.Resent)).
			Int("rejected", len(res.Rejected)).Int("moved", res.Moved).Msg("pass done")
	}
	return res, nil
}

// selectMailbox connects, makes the folders, selects the mailbox and reconciles its UIDVALIDITY
// with the state; it returns the UIDVALIDITY and the last UID taken.
func (p *Poller) selectMailbox(ctx context.Context, st Store, res *Result) (uint32, uint32, error) {
	if p.c != nil && p.tokenExpired() {
		p.log.Debug().Msg("access token about to expire; logging in again with a new one")
		p.disconnect()
	}
	if err := p.connect(ctx); err != nil {
		return 0, 0, err
	}
	if err := p.ensureFolders(); err != nil {
		p.disconnect()
		return 0, 0, err
	}
	sel, err := p.c.Select(p.cfg.Mailbox, nil).Wait()
	if err != nil {
		return 0, 0, p.imapErr("select", err)
	}
	res.UIDValidity = sel.UIDValidity
	ms, err := st.MailboxState(ctx, p.cfg.Mailbox)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrState, err)
	}
	if ms.UIDValidity != sel.UIDValidity {
		if ms.UIDValidity != 0 {
			res.UIDValidityChanged = true
			p.log.Warn().Uint32("old_uidvalidity", ms.UIDValidity).Uint32("uidvalidity", sel.UIDValidity).
				Msg("UIDVALIDITY changed: rescanning the mailbox, recognising known messages by Message-ID and SHA-256")
		}
		ms = state.MailboxState{UIDValidity: sel.UIDValidity}
		if err := st.SetMailboxState(ctx, p.cfg.Mailbox, ms); err != nil {
			return 0, 0, fmt.Errorf("%w: %w", ErrState, err)
		}
	}
	if sel.NumMessages == 0 {
		ms.LastUID = ^uint32(0) // nothing to search
	}
	return sel.UIDValidity, ms.LastUID, nil
}

// newUIDs lists the UIDs above last, in order.
func (p *Poller) newUIDs(last uint32) ([]imap.UID, error) {
	if last == ^uint32(0) {
		return nil, nil
	}
	if p.cfg.Shared {
		// Several pollers: a message another poller claimed (and may have died with) stays in
		// the mailbox below the last UID; every message still there is looked at again.
		last = 0
	}
	sd, err := p.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}}, nil).Wait()
	if err != nil {
		return nil, p.imapErr("uid search", err)
	}
	var uids []imap.UID
	for _, u := range sd.AllUIDs() {
		if uint32(u) > last { // "N:*" includes the highest UID even when it is below N
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	return uids, nil
}

func (p *Poller) finishPendingMoves(ctx context.Context, st Store, uidValidity uint32, res *Result, log zerolog.Logger) error {
	pend, err := st.PendingMoves(ctx, p.cfg.Mailbox, uidValidity)
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
		release, ok, err := p.claimPending(ctx, st, uidValidity, m.UID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = p.finishMove(ctx, st, uidValidity, m, present[m.UID], res, log)
		release()
		if err != nil {
			return err
		}
	}
	return nil
}

// claimPending claims a recorded message before its move is finished (several pollers may find
// it pending); ok is false when another poller holds it or has moved it.
func (p *Poller) claimPending(ctx context.Context, st Store, uidValidity, uid uint32) (release func(), ok bool, err error) {
	key := state.MessageKey{Mailbox: p.cfg.Mailbox, UIDValidity: uidValidity, UID: uid}
	claim, err := st.ClaimMessage(ctx, key, p.cfg.Owner, p.cfg.ClaimLease)
	if errors.Is(err, state.ErrClaimed) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrState, err)
	}
	release = func() { _ = st.ReleaseClaim(ctx, claim) }
	if rec, err := st.Message(ctx, key); err != nil || rec.Moved {
		release()
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrState, err)
		}
		return nil, false, nil
	}
	return release, true, nil
}

// finishMove moves a recorded message (when still present) and marks it moved.
func (p *Poller) finishMove(ctx context.Context, st Store, uidValidity uint32, m state.Message, present bool, res *Result, log zerolog.Logger) error {
	if present {
		if _, err := p.c.Move(imap.UIDSetNum(imap.UID(m.UID)), m.Folder).Wait(); err != nil {
			return p.imapErr("move", err)
		}
		res.Moved++
	}
	if err := st.MarkMoved(ctx, p.cfg.Mailbox, uidValidity, m.UID); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	log.Info().Uint32("uid", m.UID).Bool("was_present", present).Str("folder_role", roleOf(p.cfg, m.Folder)).
		Msg("finished the move of a message recorded earlier")
	return nil
}

// fetched is one message as fetched: its envelope, headers and the attachments taken.
type fetched struct {
	env      *imap.Envelope
	internal time.Time
	headers  receiptHeaders
	atts     []mime.Attachment
	skipped  []mime.Skipped
	gotBody  bool
}

// takeMessage takes one message: claim, fetch, record, move (the crash-safety order of the
// package comment). A stop (SIGINT/SIGTERM) lets the current message finish.
func (p *Poller) takeMessage(ctx context.Context, st Store, uidValidity, uid uint32, res *Result, log zerolog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	log = log.With().Uint32("uid", uid).Logger()
	key := state.MessageKey{Mailbox: p.cfg.Mailbox, UIDValidity: uidValidity, UID: uid}
	if rec, err := st.Message(ctx, key); err == nil && rec.Moved {
		return nil
	} else if err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	claim, err := st.ClaimMessage(ctx, key, p.cfg.Owner, p.cfg.ClaimLease)
	if errors.Is(err, state.ErrClaimed) {
		log.Debug().Msg("message claimed by another poller")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	defer func() { _ = st.ReleaseClaim(ctx, claim) }()
	// Under the claim, look again: another poller may have moved the message (and released
	// its claim) between the look above and the claim.
	if rec, err := st.Message(ctx, key); err == nil && rec.Moved {
		return nil
	} else if err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	hb := startHeartbeat(ctx, st, claim, p.cfg.ClaimLease, log)
	defer hb.stop()
	fm, err := p.fetch(hb.ctx, st, uid)
	if hb.lost() && (err == nil || errors.Is(err, context.Canceled)) {
		if err == nil {
			removeAll(fm.atts)
		}
		return nil
	}
	if err != nil || !fm.gotBody {
		if err == nil {
			log.Warn().Msg("message vanished before it was fetched")
		}
		return err
	}
	if err := p.callHook("fetched", uid); err != nil || hb.lost() {
		removeAll(fm.atts)
		return err
	}
	rec, err := p.record(hb.ctx, st, key, fm, res, log)
	if hb.lost() {
		return nil
	}
	if err != nil {
		return err
	}
	res.Messages++
	if err := p.callHook("recorded", uid); err != nil {
		return err
	}
	if err := hb.hold(st, claim, p.cfg.ClaimLease); err != nil {
		if hb.lost() {
			log.Warn().Err(err).Msg("message claim lost before the move; another poller finishes it")
			return nil
		}
		return err
	}
	if _, err := p.c.Move(imap.UIDSetNum(imap.UID(uid)), rec.Folder).Wait(); err != nil {
		return p.imapErr("move", err)
	}
	res.Moved++
	if err := p.callHook("moved", uid); err != nil {
		return err
	}
	if err := st.MarkMoved(ctx, p.cfg.Mailbox, uidValidity, uid); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// fetch fetches a message (BODY.PEEK[]: not marked \Seen) and streams it into the MIME extractor,
// which writes the accepted attachments into the state's temp folder.
func (p *Poller) fetch(ctx context.Context, st Store, uid uint32) (*fetched, error) {
	fc := p.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
		UID: true, Envelope: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	fm := &fetched{}
	var xerr error
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataEnvelope:
				fm.env = it.Envelope
			case imapclient.FetchItemDataInternalDate:
				fm.internal = it.Time
			case imapclient.FetchItemDataBodySection:
				if fm.gotBody || xerr != nil {
					continue
				}
				fm.gotBody = true
				body := &headerTap{r: it.Literal}
				fm.atts, fm.skipped, xerr = mime.Extract(ctx, body, p.cfg.Limits, p.cfg.Sniffer, st.TempDir())
				fm.headers = body.headers()
				if errors.Is(xerr, mime.ErrSource) || body.err != nil {
					if xerr == nil {
						xerr = body.err
					}
					// The connection broke mid-literal: drop it at once. Draining the rest of
					// the response (fc.Close) would read the connection beside the client's
					// reader goroutine.
					removeAll(fm.atts)
					_ = p.c.Close()
					p.c, p.foldersOK = nil, false
					return nil, fmt.Errorf("%w: fetch: %w", ErrIMAP, xerr)
				}
			}
		}
	}
	if err := fc.Close(); err != nil {
		removeAll(fm.atts)
		if xerr == nil || errors.Is(xerr, mime.ErrSource) {
			return nil, p.imapErr("fetch", err)
		}
	}
	if xerr != nil {
		removeAll(fm.atts)
		if errors.Is(xerr, mime.ErrSource) {
			return nil, p.imapErr("fetch", xerr)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrState, xerr)
	}
	return fm, nil
}

// record hands a fetched message to the state: its attachments (AddFiles), or, without one, the
// message with why (RecordMessage). It returns the message as recorded.
func (p *Poller) record(ctx context.Context, st Store, key state.MessageKey, fm *fetched, res *Result, log zerolog.Logger) (*state.Message, error) {
	rec := &state.Message{Mailbox: key.Mailbox, UIDValidity: key.UIDValidity, UID: key.UID, Received: fm.internal,
		ReturnPath: fm.headers.returnPath, AutoSubmitted: fm.headers.autoSubmitted, Precedence: fm.headers.precedence}
	if rec.Received.IsZero() {
		rec.Received = time.Now()
	}
	arr := state.Arrival{Received: rec.Received, Mailbox: key.Mailbox, UIDValidity: key.UIDValidity, UID: key.UID}
	if fm.env != nil {
		rec.MessageID = fm.env.MessageID
		if len(fm.env.From) > 0 {
			rec.From = fm.env.From[0].Addr()
		}
		if len(fm.env.ReplyTo) > 0 {
			rec.ReplyTo = fm.env.ReplyTo[0].Addr()
		}
	}
	if rec.From == "" {
		rec.From = fm.headers.from
	}
	if rec.ReplyTo == "" {
		rec.ReplyTo = fm.headers.replyTo
	}
	arr.MessageID, arr.Sender = rec.MessageID, rec.From
	for _, s := range fm.skipped {
		rec.Rejected = append(rec.Rejected, state.Rejection{FileName: s.FileName, Reason: string(s.Reason), What: s.What, Size: s.Size})
	}
	if len(fm.atts) == 0 {
		rec.Folder = p.cfg.RejectedFolder
		if len(rec.Rejected) == 0 {
			rec.Rejected = []state.Rejection{{Reason: ReasonNoAttachment}}
		}
		if err := st.RecordMessage(ctx, rec); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		res.Rejected = append(res.Rejected, RejectedMessage{UID: key.UID, MessageID: rec.MessageID, Received: rec.Received, Reasons: rec.Rejected})
		reasons := make([]string, 0, len(rec.Rejected))
		for _, s := range rec.Rejected {
			reasons = append(reasons, s.Reason)
		}
		log.Info().Strs("reasons", reasons).Msg("message rejected: no usable attachment")
		return rec, nil
	}
	rec.Folder = p.cfg.ProcessedFolder
	in := make([]state.Incoming, 0, len(fm.atts))
	for _, a := range fm.atts {
		in = append(in, state.Incoming{TempPath: a.Path, SHA256: a.SHA256, Size: a.Size, FileName: a.FileName, Kind: a.What})
	}
	cr, err := st.AddFiles(ctx, in, arr, rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	res.Spooled = append(res.Spooled, cr.New...)
	res.Resent = append(res.Resent, cr.Resent...)
	res.Processed = append(res.Processed, ProcessedMessage{UID: key.UID, MessageID: rec.MessageID, FileIDs: rec.FileIDs, Resent: rec.Resent, Skipped: rec.Rejected})
	for _, f := range cr.New {
		log.Info().Str("file_id", f.ID).Int64("size", f.Size).Str("ext", mime.Extension(f.Name)).Str("kind", f.Kind).Msg("file spooled")
	}
	for _, f := range cr.Resent {
		log.Info().Str("file_id", f.ID).Msg("file arrived again (resent)")
	}
	return rec, nil
}

func (p *Poller) callHook(point string, uid uint32) error {
	if p.hook == nil {
		return nil
	}
	return p.hook(point, uid)
}

func removeAll(atts []mime.Attachment) {
	for _, a := range atts {
		_ = a.Remove()
	}
}
