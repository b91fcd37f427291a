// Package state is the one interface to everything sysvak-import remembers (SPEC 8): the ledger
// of registered keys, each file's status (one source of truth: arrived, waiting_password,
// processing, processed, rejected), the spool of files as received, the messages taken from
// mailboxes, the password drop-box, the receipts outbox, operator accounts and the audit log.
//
// The interface is owned by the service layer (internal/intake) and has two backends: the
// embedded one (internal/state/folder: bbolt and files, one process at a time) and PostgreSQL.
// Both pass the conformance suite in internal/state/statetest.
//
// The outcome of a file is recorded in one call (RecordOutcome: ledger changes, status, summary,
// report and queued receipts), so that a database backend does it in one transaction. Work on a
// file or a message is coordinated by claims with leases: a worker that dies leaves a claim that
// expires and is taken over.
package state
