package receipt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/finding"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/validate"
)

// Modes of --receipts (SPEC 10).
const (
	ModeOff       = "off"
	ModeSummary   = "summary"
	ModeAnnotated = "annotated"
)

// StateOutbox is the worker's Outbox over the state's receipts outbox: due receipts are claimed
// with a lease, so that of several senders sharing a PostgreSQL state one sends each, and a
// sender killed while sending leaves a claim that expires (the receipt is then sent again, with
// the same Message-ID). A receipt's Payload is the rendered message, byte for byte.
type StateOutbox struct {
	St    state.Outbox
	Owner string
	// Lease is how long a claim lives (default 10 minutes: longer than one send may take).
	Lease time.Duration
	// From is the envelope sender (--receipt-from).
	From string

	mu     sync.Mutex
	claims map[string]state.Claim
}

var _ Outbox = (*StateOutbox)(nil)

// Due claims the due receipts. now is the state's own clock (the argument is ignored).
func (o *StateOutbox) Due(ctx context.Context, _ time.Time, limit int) ([]Item, error) {
	lease := o.Lease
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	rs, err := o.St.ClaimDueReceipts(ctx, o.Owner, limit, lease)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.claims == nil {
		o.claims = map[string]state.Claim{}
	}
	items := make([]Item, 0, len(rs))
	for _, r := range rs {
		o.claims[r.ID] = r.Claim
		items = append(items, Item{ID: r.ID, Kind: Kind(r.Kind), FileID: r.FileID, From: o.From, To: r.To, Data: r.Payload,
			Queued: r.Created, Attempts: max(r.Attempts-1, 0), NextAttempt: r.NextAttempt, LastError: r.LastError})
	}
	return items, nil
}

func (o *StateOutbox) claim(id string) (state.Claim, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.claims[id]
	if !ok {
		return state.Claim{}, fmt.Errorf("receipt: %s is not claimed by this sender", id)
	}
	delete(o.claims, id)
	return c, nil
}

// MarkSent implements Outbox.
func (o *StateOutbox) MarkSent(ctx context.Context, id string, _ time.Time) error {
	c, err := o.claim(id)
	if err != nil {
		return err
	}
	return o.St.MarkReceiptSent(ctx, c)
}

// MarkRetry implements Outbox (the state counts attempts itself).
func (o *StateOutbox) MarkRetry(ctx context.Context, id string, _ int, next time.Time, lastErr string) error {
	c, err := o.claim(id)
	if err != nil {
		return err
	}
	return o.St.RetryReceipt(ctx, c, next, lastErr)
}

// GiveUp implements Outbox.
func (o *StateOutbox) GiveUp(ctx context.Context, id string, _ time.Time, reason string) error {
	c, err := o.claim(id)
	if err != nil {
		return err
	}
	return o.St.GiveUpReceipt(ctx, c, reason)
}

// Release implements Releaser.
func (o *StateOutbox) Release(ctx context.Context, id string) error {
	c, err := o.claim(id)
	if err != nil {
		return err
	}
	return o.releaser().ReleaseClaim(ctx, c)
}

func (o *StateOutbox) releaser() state.Claims {
	if c, ok := o.St.(state.Claims); ok {
		return c
	}
	return noClaims{}
}

// noClaims is for an outbox that cannot release a claim: it expires instead.
type noClaims struct{}

func (noClaims) RenewClaim(_ context.Context, c state.Claim, _ time.Duration) (state.Claim, error) {
	return c, nil
}
func (noClaims) ReleaseClaim(context.Context, state.Claim) error { return nil }

// MessageLookup finds the recorded message a file came in (state.Messages has it).
type MessageLookup interface {
	Message(ctx context.Context, k state.MessageKey) (state.Message, error)
}

// Builder makes the receipts to queue with an outcome: rendered now (so the outbox holds the
// exact message), addressed by the RFC 3834 rules, none for a file that did not come by mail.
type Builder struct {
	From     string // --receipt-from
	Mode     string // ModeSummary or ModeAnnotated (ModeOff: none)
	Messages MessageLookup
	Now      func() time.Time
	Log      zerolog.Logger
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// originOf is the message a file arrived in, with the headers recorded for it.
func (b *Builder) originOf(ctx context.Context, a state.Arrival) Origin {
	o := Origin{MessageID: a.MessageID, From: a.Sender, Ref: fmt.Sprintf("%s/%d/%d", a.Mailbox, a.UIDValidity, a.UID)}
	if b.Messages == nil {
		return o
	}
	m, err := b.Messages.Message(ctx, state.MessageKey{Mailbox: a.Mailbox, UIDValidity: a.UIDValidity, UID: a.UID})
	if err != nil {
		return o
	}
	return OriginOfMessage(m)
}

// OriginOfMessage is the Origin of a recorded message.
func OriginOfMessage(m state.Message) Origin {
	o := Origin{MessageID: m.MessageID, From: m.From, ReplyTo: m.ReplyTo, AutoSubmitted: m.AutoSubmitted,
		Precedence: m.Precedence, Ref: fmt.Sprintf("%s/%d/%d", m.Mailbox, m.UIDValidity, m.UID)}
	if m.ReturnPath != "" {
		o.HasReturnPath = true
		if m.ReturnPath != "<>" {
			o.ReturnPath = m.ReturnPath
		}
	}
	return o
}

// ForFile returns the receipt for a file's outcome (at most one; none for a local file, a
// machine sender, or with receipts off). It fits intake's Config.Receipts hook.
func (b *Builder) ForFile(f state.File, rep *report.Report) []state.Receipt {
	return b.ForFileWith(context.Background(), f, rep, nil)
}

// ForFileWith is ForFile with the annotated workbook to attach (nil: none).
func (b *Builder) ForFileWith(ctx context.Context, f state.File, rep *report.Report, ann *Annotated) []state.Receipt {
	return b.forArrival(ctx, f, f.Source, rep, ann)
}

// ForArrival returns the receipt for a later arrival of a file already processed (the same bytes
// sent again, in another message): that message's sender hears the file's outcome too.
func (b *Builder) ForArrival(f state.File, a state.Arrival, rep *report.Report) []state.Receipt {
	return b.forArrival(context.Background(), f, a, rep, nil)
}

// ForResend is ForArrival for the message m (with its headers) that carries the file again.
func (b *Builder) ForResend(f state.File, m state.Message, rep *report.Report) []state.Receipt {
	if b.Mode == ModeOff || b.Mode == "" || m.Mailbox == "" || rep == nil {
		return nil
	}
	return b.forOrigin(f, OriginOfMessage(m), rep, nil)
}

func (b *Builder) forArrival(ctx context.Context, f state.File, a state.Arrival, rep *report.Report, ann *Annotated) []state.Receipt {
	if b.Mode == ModeOff || b.Mode == "" || a.Mailbox == "" || rep == nil {
		return nil
	}
	return b.forOrigin(f, b.originOf(ctx, a), rep, ann)
}

func (b *Builder) forOrigin(f state.File, o Origin, rep *report.Report, ann *Annotated) []state.Receipt {
	in := Input{FileID: f.ID, Origin: o, From: b.From, Date: b.now()}
	switch {
	case f.Status == state.FileStatus(report.StatusWaitingPassword) || rep.Status == report.StatusWaitingPassword:
		in.Kind = KindWaiting // one per message: the sender is asked for the SMS password once
	default:
		in.Kind = KindProcessed
		in.Report = rep
		if b.Mode == ModeAnnotated && len(rep.Findings) > 0 {
			in.Annotated = ann
		}
	}
	return b.render(in)
}

// ForRejectedMessage returns the receipt for a message that carried no usable attachment.
func (b *Builder) ForRejectedMessage(m state.Message, reasons []Reason) []state.Receipt {
	if b.Mode == ModeOff || b.Mode == "" {
		return nil
	}
	if m.From == "" && b.Messages != nil { // only the key is known: take the recorded headers
		if rec, err := b.Messages.Message(context.Background(), state.MessageKey{Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID}); err == nil {
			m = rec
		}
	}
	if reasons == nil {
		reasons = ReasonsOf(m)
	}
	if len(reasons) == 0 {
		reasons = []Reason{{Code: validate.MailNoAttachment}}
	}
	return b.render(Input{Kind: KindRejected, Origin: OriginOfMessage(m), From: b.From, Date: b.now(), Reasons: reasons})
}

func (b *Builder) render(in Input) []state.Receipt {
	to, err := in.Origin.Recipient(b.From)
	if err != nil {
		b.Log.Info().Str("file_id", in.FileID).Str("kind", string(in.Kind)).Str("why", noReceiptWhy(err)).Msg("no receipt")
		return nil
	}
	in.To = to
	m, err := Render(in)
	if err != nil {
		b.Log.Error().Err(err).Str("file_id", in.FileID).Msg("receipt not made")
		return nil
	}
	now := b.now()
	return []state.Receipt{{ID: m.ID, FileID: m.FileID, Kind: string(m.Kind), To: m.To, InReplyTo: msgIDHeader(in.Origin.MessageID),
		Payload: m.Data, Status: state.ReceiptQueued, NextAttempt: now, Created: now, Updated: now}}
}

// noReceiptWhy is the reason without the address.
func noReceiptWhy(err error) string { return err.Error() }

// ReasonsOf turns a rejected message's recorded reasons into receipt reasons. The mailbox names
// them in its own terms (no_attachment, unsupported_type, too_large, ...) or as finding codes;
// file names and what a part looked like stay out of the receipt.
func ReasonsOf(m state.Message) []Reason {
	var out []Reason
	for i, r := range m.Rejected {
		code := finding.Code(r.Reason)
		switch r.Reason {
		case "no_attachment":
			code = finding.MailNoAttachment
		case "unsupported_type":
			code = finding.FileUnsupportedFormat
		case "too_large":
			code = finding.FileTooLarge
		case "too_many_parts":
			code = finding.MailTooManyParts
		case "too_deep":
			code = finding.MailTooDeep
		case "unreadable":
			code = finding.MailUnreadable
		}
		att := 0
		if code != finding.MailNoAttachment && code != finding.MailTooManyParts && code != finding.MailTooDeep {
			att = i + 1
		}
		out = append(out, Reason{Code: code, Attachment: att})
	}
	return out
}

// OpenFunc opens the state's outbox for a moment; release closes it again.
type OpenFunc func(ctx context.Context) (ob state.Outbox, release func() error, err error)

// BatchOutbox is the worker's Outbox over a state that is opened only for a moment (a folder
// state is one process's at a time, and `pending` or `unlock` may want it between passes): due
// receipts are claimed in one short opening, sent with the state closed, and the results recorded
// in another (Flush, which the worker calls at the end of every pass). A sender killed between a
// send and the flush leaves claims that expire: those receipts are sent once more, with the same
// Message-ID. Lock, when set, keeps the openings apart from the process's other users of the state.
type BatchOutbox struct {
	Open  OpenFunc
	Lock  sync.Locker
	Owner string
	Lease time.Duration // default 10 minutes
	From  string

	mu      sync.Mutex
	claims  map[string]state.Claim
	pending []func(ctx context.Context, ob state.Outbox) error
}

var _ Outbox = (*BatchOutbox)(nil)

func (o *BatchOutbox) with(ctx context.Context, f func(state.Outbox) error) error {
	if o.Lock != nil {
		o.Lock.Lock()
		defer o.Lock.Unlock()
	}
	ob, release, err := o.Open(ctx)
	if err != nil {
		return err
	}
	err = f(ob)
	if rerr := release(); err == nil {
		err = rerr
	}
	return err
}

// Due implements Outbox.
func (o *BatchOutbox) Due(ctx context.Context, now time.Time, limit int) ([]Item, error) {
	var items []Item
	err := o.with(ctx, func(ob state.Outbox) error {
		so := &StateOutbox{St: ob, Owner: o.Owner, Lease: o.Lease, From: o.From}
		var err error
		items, err = so.Due(ctx, now, limit)
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.claims == nil {
			o.claims = map[string]state.Claim{}
		}
		for id, c := range so.claims {
			o.claims[id] = c
		}
		return err
	})
	return items, err
}

func (o *BatchOutbox) later(id string, f func(ctx context.Context, ob state.Outbox, c state.Claim) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.claims[id]
	if !ok {
		return fmt.Errorf("receipt: %s is not claimed by this sender", id)
	}
	delete(o.claims, id)
	o.pending = append(o.pending, func(ctx context.Context, ob state.Outbox) error { return f(ctx, ob, c) })
	return nil
}

// MarkSent implements Outbox (recorded by Flush).
func (o *BatchOutbox) MarkSent(_ context.Context, id string, _ time.Time) error {
	return o.later(id, func(ctx context.Context, ob state.Outbox, c state.Claim) error { return ob.MarkReceiptSent(ctx, c) })
}

// MarkRetry implements Outbox (recorded by Flush).
func (o *BatchOutbox) MarkRetry(_ context.Context, id string, _ int, next time.Time, lastErr string) error {
	return o.later(id, func(ctx context.Context, ob state.Outbox, c state.Claim) error {
		return ob.RetryReceipt(ctx, c, next, lastErr)
	})
}

// GiveUp implements Outbox (recorded by Flush).
func (o *BatchOutbox) GiveUp(_ context.Context, id string, _ time.Time, reason string) error {
	return o.later(id, func(ctx context.Context, ob state.Outbox, c state.Claim) error {
		return ob.GiveUpReceipt(ctx, c, reason)
	})
}

// Release implements Releaser (recorded by Flush).
func (o *BatchOutbox) Release(_ context.Context, id string) error {
	return o.later(id, func(ctx context.Context, ob state.Outbox, c state.Claim) error {
		if cl, ok := ob.(state.Claims); ok {
			return cl.ReleaseClaim(ctx, c)
		}
		return nil
	})
}

// Flush records the pass's results in one opening of the state.
func (o *BatchOutbox) Flush(ctx context.Context) error {
	o.mu.Lock()
	todo := o.pending
	o.pending = nil
	o.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	return o.with(ctx, func(ob state.Outbox) error {
		var errs []error
		for _, f := range todo {
			if err := f(ctx, ob); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// Spooled opens the bytes of a spooled file (state.Spool has it).
type Spooled interface {
	OpenSpooled(ctx context.Context, id string) (*state.Spooled, error)
}

// ForOutcome is ForFile for a file just processed with passwords, and for each later arrival of
// the same file in another message (each message hears the outcome): under ModeAnnotated a processed
// file with findings gets its annotated copy attached, encrypted under the password (of
// passwords) that opened it. A file that needed no password, or whose copy cannot be made, gets
// the summary receipt.
func (b *Builder) ForOutcome(ctx context.Context, sp Spooled, f state.File, rep *report.Report, passwords []secret.Secret) []state.Receipt {
	var ann *Annotated
	if b.Mode == ModeAnnotated && sp != nil && rep != nil && len(rep.Findings) > 0 &&
		rep.Status != report.StatusWaitingPassword && f.Source.Mailbox != "" {
		a, err := b.annotated(ctx, sp, f.ID, rep, passwords)
		if err != nil {
			b.Log.Warn().Err(err).Str("file_id", f.ID).Msg("receipt without the annotated copy")
		}
		ann = a
	}
	rs := b.ForFileWith(ctx, f, rep, ann)
	for _, a := range f.Arrivals { // the same file in later messages, taken before this outcome
		rs = append(rs, b.forArrival(ctx, f, a, rep, ann)...)
	}
	return rs
}

func (b *Builder) annotated(ctx context.Context, sp Spooled, id string, rep *report.Report, passwords []secret.Secret) (*Annotated, error) {
	s, err := sp.OpenSpooled(ctx, id)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := decrypt.Unwrap(ctx, f, s.Size, passwords, decrypt.DefaultLimits())
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if p.PasswordIndex < 0 || p.PasswordIndex >= len(passwords) {
		return nil, nil // not encrypted: no copy in the clear
	}
	return AnnotatedFor(ctx, p.ReaderAt, p.Size, rep.Findings, passwords[p.PasswordIndex])
}
