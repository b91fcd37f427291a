// Package pgstate is the PostgreSQL backend of the state interface (SPEC 8): ledger, message and
// file states, the spool (files as received, encrypted, in bytea), records and file reports,
// receipts outbox, operator accounts and the audit log, shared by any number of processes on
// any number of hosts.
//
// Concurrency rules:
//   - a ledger key is registered once by the primary key of ledger_keys (INSERT ... ON CONFLICT),
//     never by a read-then-write check;
//   - a message or a file is worked on by one process at a time: it is claimed with
//     SELECT ... FOR UPDATE SKIP LOCKED (the pattern of River's job fetch), the claim carries a
//     lease (lease_until, in the database's clock, so hosts' clocks do not matter) that its worker
//     extends while it works, and a claim whose lease has run out is taken over by the next
//     claimer;
//   - records and file_reports are written in the same transaction as the ledger change.
//
// The schema is created and migrated on start by versioned migrations (migrations/NNN_name.sql,
// embedded) under a PostgreSQL advisory lock. Passwords of files are never stored here (SPEC 8:
// the drop-box is a folder).
package pgstate
