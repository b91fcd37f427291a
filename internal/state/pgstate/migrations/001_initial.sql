-- sysvak-import PostgreSQL state, schema version 1 (SPEC 8). Applied by Migrate under an
-- advisory lock, in one transaction with its schema_migrations row. Times are those of the
-- writing process's clock (hosts sharing a state keep their clocks in sync, as NTP does).

-- One row: the 32-byte HMAC key under which ledger keys are hashed (the folder state keeps it in
-- ledger.key; `state import` copies it here so that imported keys keep matching).
CREATE TABLE state_meta (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    ledger_mac  bytea NOT NULL CHECK (length(ledger_mac) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every registered (person, date, code) key, as its keyed hash. The primary key is what makes a
-- key registered once across any number of processes: INSERT ... ON CONFLICT, never
-- read-then-write. seq orders changes for the processes' incremental ledger caches (ledger
-- commits are serialised by an advisory lock, so seq order is commit order).
CREATE SEQUENCE ledger_seq;
CREATE TABLE ledger_keys (
    key      bytea PRIMARY KEY CHECK (length(key) = 16),
    file_id  text NOT NULL,
    row_no   integer NOT NULL,
    deleted  boolean NOT NULL DEFAULT false,
    seq      bigint NOT NULL DEFAULT nextval('ledger_seq')
);
CREATE INDEX ledger_keys_seq ON ledger_keys (seq);
CREATE INDEX ledger_keys_file ON ledger_keys (file_id);

-- Files and their life cycle: one source of truth for a file's status. The claim columns are the
-- lease of the worker that processes it; a claim whose lease ran out is taken over.
CREATE TABLE files (
    file_id      text PRIMARY KEY CHECK (file_id ~ '^[0-9a-f]{16}$'),
    sha256       text NOT NULL,
    file_name    text NOT NULL DEFAULT '',
    size         bigint NOT NULL DEFAULT 0,
    kind         text NOT NULL DEFAULT '',
    spooled      boolean NOT NULL DEFAULT false,
    received     timestamptz NOT NULL,
    source       jsonb NOT NULL DEFAULT '{}',
    arrivals     jsonb NOT NULL DEFAULT '[]',
    status       text NOT NULL CHECK (status IN ('arrived', 'waiting_password', 'processing', 'processed', 'rejected')),
    last_error   text NOT NULL DEFAULT '',
    summary      jsonb NOT NULL DEFAULT '{}',
    reported     integer NOT NULL DEFAULT 0,
    written      boolean NOT NULL DEFAULT false,
    updated      timestamptz NOT NULL,
    claimed_by   text NOT NULL DEFAULT '',
    claim_token  bigint NOT NULL DEFAULT 0,
    claim_from   text NOT NULL DEFAULT '',
    lease_until  timestamptz
);
CREATE INDEX files_received ON files (received DESC, file_id DESC);
CREATE INDEX files_status ON files (status);

-- The file as received (encrypted as it came), one row per spooled file.
CREATE TABLE spool (
    file_id  text PRIMARY KEY REFERENCES files (file_id) ON DELETE CASCADE,
    data     bytea NOT NULL
);

-- Messages taken from a mailbox, keyed by UIDVALIDITY+UID. data is the state.Message (headers
-- for receipts, folder, files, rejections).
CREATE TABLE messages (
    mailbox      text NOT NULL,
    uidvalidity  bigint NOT NULL,
    uid          bigint NOT NULL,
    message_id   text NOT NULL DEFAULT '',
    moved        boolean NOT NULL DEFAULT false,
    data         jsonb NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
CREATE INDEX messages_message_id ON messages (message_id) WHERE message_id <> '';
CREATE INDEX messages_unmoved ON messages (mailbox, uidvalidity) WHERE NOT moved;

-- Claims on messages before they are fetched: of several pollers, one takes each message.
CREATE TABLE message_claims (
    mailbox      text NOT NULL,
    uidvalidity  bigint NOT NULL,
    uid          bigint NOT NULL,
    claimed_by   text NOT NULL DEFAULT '',
    claim_token  bigint NOT NULL DEFAULT 0,
    lease_until  timestamptz,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);

-- What the pollers remember about each source mailbox.
CREATE TABLE mailboxes (
    mailbox      text PRIMARY KEY,
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL DEFAULT 0
);

-- Registered rows (SPEC 5 records.jsonl, one object per row), written in the same transaction as
-- the ledger change. The only table with ID numbers in clear.
CREATE TABLE records (
    file_id  text NOT NULL,
    row_no   integer NOT NULL,
    record   json NOT NULL,
    PRIMARY KEY (file_id, row_no)
);

-- A file's report.json (the exact bytes of the outputs), in the same transaction as the ledger change.
CREATE TABLE file_reports (
    file_id  text PRIMARY KEY,
    status   text NOT NULL DEFAULT '',
    report   bytea NOT NULL,
    updated  timestamptz NOT NULL
);

-- Receipts to senders (SPEC 10): queued with the outcome, sent after it, retried with backoff.
CREATE TABLE outbox (
    id            text PRIMARY KEY,
    file_id       text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    recipient     text NOT NULL DEFAULT '',
    in_reply_to   text NOT NULL DEFAULT '',
    payload       bytea,
    status        text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL,
    last_error    text NOT NULL DEFAULT '',
    created       timestamptz NOT NULL,
    updated       timestamptz NOT NULL,
    seq           bigserial,
    claimed_by    text NOT NULL DEFAULT '',
    claim_token   bigint NOT NULL DEFAULT 0,
    lease_until   timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt, seq) WHERE status IN ('queued', 'sending');

-- Console accounts (SPEC 9): Argon2id hashes, lockout counters (data is the state.Operator).
CREATE TABLE operators (
    name  text PRIMARY KEY,
    data  jsonb NOT NULL
);

-- The audit log (SPEC 9): append-only.
CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor    text NOT NULL DEFAULT '',
    action   text NOT NULL,
    file_id  text NOT NULL DEFAULT '',
    remote   text NOT NULL DEFAULT '',
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
