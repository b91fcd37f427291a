// Package mailbox is the IMAP ingest of SPEC 6 (issue 4): it turns messages in a mailbox into
// spooled attachment files with their provenance, and never loses or doubles one. It does not
// know spreadsheet columns, does not decrypt and does not validate: it hands each message's
// attachments to the state through the Store interface it declares (internal/state.Store has
// it) and names why a message was rejected in its own terms (Reason*); internal/intake takes the
// files from the state and turns the reasons into findings.
//
// Order of steps for each message (the crash-safety rule): fetch BODY.PEEK[] (not marked read),
// stream it into the MIME extractor which writes each accepted attachment to a 0600 temp file and
// fsyncs it; rename into STATE/spool/<file-id> and fsync the folder; record the entries, the
// message ledger entry, the mailbox's last UID and the message's receipts (SPEC 10) in ONE state
// transaction (Store.AddFiles or RecordMessage); only then move the
// message to the processed (or rejected) folder and mark it moved. A crash before the
// transaction leaves the message in the mailbox (it is fetched again; identical spool files are
// simply replaced); a crash after it leaves a recorded, unmoved message, which the next pass
// moves without fetching it again. Keys: UIDVALIDITY+UID, Message-ID and the attachment SHA-256
// (a rescan after a UIDVALIDITY change adds no second arrival for the same Message-ID).
//
// Logs carry UIDs, file ids, counts, reasons and file extensions only: never sender addresses,
// subjects, file names, passwords or bodies. Never set imapclient.Options.DebugWriter (it logs
// LOGIN).
package mailbox
