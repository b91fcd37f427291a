package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Message is the ledger row of one message taken from a mailbox.
type Message struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	MessageID   string
	Recorded    time.Time
	Folder      string
	FileIDs     []string
	Resent      []string
	Skipped     json.RawMessage
	Moved       bool
}

const messageColumns = "mailbox, uidvalidity, uid, message_id, recorded, folder, file_ids, resent, skipped, moved"

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	var uv, uid int64
	err := row.Scan(&m.Mailbox, &uv, &uid, &m.MessageID, &m.Recorded, &m.Folder, &m.FileIDs, &m.Resent, &m.Skipped, &m.Moved)
	m.UIDValidity, m.UID = uint32(uv), uint32(uid)
	return m, err
}

func upsertMessage(ctx context.Context, tx pgx.Tx, m Message) error {
	if len(m.Skipped) == 0 {
		m.Skipped = json.RawMessage("[]")
	}
	if m.FileIDs == nil {
		m.FileIDs = []string{}
	}
	if m.Resent == nil {
		m.Resent = []string{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO messages (mailbox, uidvalidity, uid, message_id, folder, file_ids, resent, skipped, moved)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET message_id = excluded.message_id, folder = excluded.folder,
			file_ids = excluded.file_ids, resent = excluded.resent, skipped = excluded.skipped,
			moved = messages.moved OR excluded.moved`,
		m.Mailbox, int64(m.UIDValidity), int64(m.UID), m.MessageID, m.Folder, m.FileIDs, m.Resent, m.Skipped, m.Moved)
	if err != nil {
		return fmt.Errorf("pgstate: record message: %w", err)
	}
	return nil
}

// RecordMessage records (or updates) a message's ledger row.
func (s *Store) RecordMessage(ctx context.Context, m Message) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return upsertMessage(ctx, tx, m) })
}

// NewFile is a file to spool together with the message that carried it.
type NewFile struct {
	File File
	Data []byte
}

// SpoolResult says which files were new and which were already spooled.
type SpoolResult struct {
	New    []string
	Resent []string
}

// SpoolMessage stores a message's files, its ledger row and the mailbox's last UID in one
// transaction: a file id already there is not stored again; addArrival (may be nil) is called
// with its arrivals (JSON) and returns the new arrivals, or nil to leave them as they are (the
// same delivery seen again).
func (s *Store) SpoolMessage(ctx context.Context, files []NewFile, m *Message, addArrival func(fileID string, arrivals json.RawMessage) json.RawMessage) (SpoolResult, error) {
	var res SpoolResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		res = SpoolResult{}
		for _, nf := range files {
			ok, err := insertFile(ctx, tx, nf.File, nf.Data)
			if err != nil {
				return err
			}
			if ok {
				res.New = append(res.New, nf.File.FileID)
				continue
			}
			res.Resent = append(res.Resent, nf.File.FileID)
			if addArrival == nil {
				continue
			}
			var arr json.RawMessage
			if err := tx.QueryRow(ctx, "SELECT arrivals FROM files WHERE file_id = $1 FOR UPDATE", nf.File.FileID).Scan(&arr); err != nil {
				return fmt.Errorf("pgstate: read arrivals: %w", err)
			}
			if next := addArrival(nf.File.FileID, arr); next != nil {
				if _, err := tx.Exec(ctx, "UPDATE files SET arrivals = $2, updated = now() WHERE file_id = $1", nf.File.FileID, next); err != nil {
					return fmt.Errorf("pgstate: record arrival: %w", err)
				}
			}
		}
		if m == nil {
			return nil
		}
		m.FileIDs, m.Resent = res.New, res.Resent
		if err := upsertMessage(ctx, tx, *m); err != nil {
			return err
		}
		return setLastUID(ctx, tx, m.Mailbox, m.UIDValidity, m.UID)
	})
	return res, err
}

// GetMessage returns a message's ledger row.
func (s *Store) GetMessage(ctx context.Context, mailbox string, uidValidity, uid uint32) (Message, bool, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, "SELECT "+messageColumns+" FROM messages WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3",
		mailbox, int64(uidValidity), int64(uid)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, classify(fmt.Errorf("pgstate: read message: %w", err))
	}
	return m, true, nil
}

// Messages returns messages: all of the mailbox (every mailbox when ""), or only those with the
// given Message-ID, or only those recorded but not moved.
func (s *Store) Messages(ctx context.Context, mailbox, messageID string, unmovedOnly bool) ([]Message, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+messageColumns+` FROM messages
		WHERE ($1 = '' OR mailbox = $1) AND ($2 = '' OR message_id = $2) AND (NOT $3 OR NOT moved)
		ORDER BY mailbox, uidvalidity, uid`, mailbox, messageID, unmovedOnly)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: list messages: %w", err))
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("pgstate: list messages: %w", err))
		}
		out = append(out, m)
	}
	return out, classify(rows.Err())
}

// MarkMoved records that messages were moved out of the mailbox.
func (s *Store) MarkMoved(ctx context.Context, mailbox string, uidValidity uint32, uids ...uint32) error {
	u := make([]int64, len(uids))
	for i := range uids {
		u[i] = int64(uids[i])
	}
	_, err := s.pool.Exec(ctx, "UPDATE messages SET moved = true WHERE mailbox = $1 AND uidvalidity = $2 AND uid = ANY($3)",
		mailbox, int64(uidValidity), u)
	return classify(err)
}

// MailboxState returns what the pollers remember about a mailbox (zeros when nothing).
func (s *Store) MailboxState(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	var uv, last int64
	err = s.pool.QueryRow(ctx, "SELECT uidvalidity, last_uid FROM mailboxes WHERE mailbox = $1", mailbox).Scan(&uv, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	return uint32(uv), uint32(last), classify(err)
}

// SetMailboxState sets a mailbox's UIDVALIDITY and last UID.
func (s *Store) SetMailboxState(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
		ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid`,
		mailbox, int64(uidValidity), int64(lastUID))
	return classify(err)
}

// setLastUID raises the mailbox's last UID (never lowers it: two pollers may finish out of order).
func setLastUID(ctx context.Context, tx pgx.Tx, mailbox string, uidValidity, uid uint32) error {
	_, err := tx.Exec(ctx, `INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
		ON CONFLICT (mailbox) DO UPDATE SET last_uid = greatest(mailboxes.last_uid, excluded.last_uid)
		WHERE mailboxes.uidvalidity = excluded.uidvalidity`, mailbox, int64(uidValidity), int64(uid))
	if err != nil {
		return fmt.Errorf("pgstate: mailbox state: %w", err)
	}
	return nil
}

// ErrMailboxBusy is returned by LockMailbox when another process polls the mailbox.
var ErrMailboxBusy = errors.New("pgstate: another process is polling this mailbox")

// MailboxLock is a held leader lock on one mailbox: a session advisory lock on its own connection
// (outside the pool), so it goes away with the process (SIGKILL closes the connection, and
// PostgreSQL releases the lock at once) or with the connection (a database restart).
type MailboxLock struct {
	conn *pgx.Conn
	key  string
}

// LockMailbox takes the leader lock of a mailbox without waiting (ErrMailboxBusy when another
// process holds it).
func (s *Store) LockMailbox(ctx context.Context, mailbox string) (*MailboxLock, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: mailbox lock: %w", err))
	}
	key := "sysvak-import mailbox " + mailbox
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key).Scan(&ok); err != nil {
		_ = conn.Close(ctx)
		return nil, classify(fmt.Errorf("pgstate: mailbox lock: %w", err))
	}
	if !ok {
		_ = conn.Close(ctx)
		return nil, ErrMailboxBusy
	}
	return &MailboxLock{conn: conn, key: key}, nil
}

// Held checks that the lock's connection is still alive (after a database restart it is not, and
// the lock is gone).
func (l *MailboxLock) Held(ctx context.Context) bool {
	if l == nil || l.conn == nil {
		return false
	}
	return l.conn.Ping(ctx) == nil
}

// Unlock releases the lock by closing its connection. Safe to call more than once.
func (l *MailboxLock) Unlock(ctx context.Context) error {
	if l == nil || l.conn == nil {
		return nil
	}
	err := l.conn.Close(ctx)
	l.conn = nil
	return err
}
