// Package spool is the storage of the folder state backend (internal/state/folder) for mail (SPEC 6): the spooled attachment files
// (STATE/spool/<file-id>, 0600 in 0700 folders, stored exactly as received), the state store
// (STATE/mailbox.db, bbolt) with one entry per file id (SPEC 5: first 16 hex digits of the SHA-256
// of the file as received) and its arrivals, the message ledger (UIDVALIDITY+UID, Message-ID) that
// makes a re-poll after a crash register nothing twice, the per-mailbox UIDVALIDITY and last UID,
// the password drop-box (STATE/passwords/<file-id>) and the poll lock (STATE/poll.lock) that
// refuses a second poller on the same state folder.
//
// Files are made durable before they are recorded: a spool file is written to STATE/spool/tmp,
// fsynced, renamed to its final name and the folder fsynced; only then is the entry recorded in a
// single bbolt transaction. A crash between the two leaves an unrecorded spool file that the next
// commit of the same content simply replaces.
//
// The store holds sender addresses (they are needed for `pending`); they never go to a log line.
package spool
