-- sysvak-import PostgreSQL state, schema version 1 (SPEC 8). Applied by Migrate under an
-- advisory lock, in one transaction with its schema_migrations row.

-- One row: the 32-byte HMAC key under which ledger keys are hashed (the folder state keeps it in
-- ledger.key; `state import` copies it here so that imported keys keep matching).
CREATE TABLE state_meta (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    ledger_mac  bytea NOT NULL CHECK (length(ledger_mac) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every registered (person, date, code) key, as its keyed hash. The primary key is what makes a
-- key registered once across any number of processes: INSERT ... ON CONFLICT, never
-- read-then-write.
CREATE TABLE ledger_keys (
    key      bytea PRIMARY KEY CHECK (length(key) = 16),
    file_id  text NOT NULL,
    row_no   integer NOT NULL,
    deleted  boolean NOT NULL DEFAULT false
);
CREATE INDEX ledger_keys_file ON ledger_keys (file_id);

-- Spooled files and their life cycle. claimed_by/lease_until is the claim of the worker that
-- processes the file; a claim whose lease ran out (its worker died) is taken over.
CREATE TABLE files (
    file_id      text PRIMARY KEY CHECK (file_id ~ '^[0-9a-f]{16}$'),
    sha256       text NOT NULL,
    file_name    text NOT NULL DEFAULT '',
    size         bigint NOT NULL DEFAULT 0,
    kind         text NOT NULL DEFAULT '',
    received     timestamptz NOT NULL,
    source       jsonb NOT NULL DEFAULT '{}',
    arrivals     jsonb NOT NULL DEFAULT '[]',
    status       text NOT NULL,
    last_error   text NOT NULL DEFAULT '',
    done         boolean NOT NULL DEFAULT false,
    processed_at timestamptz,
    updated      timestamptz NOT NULL DEFAULT now(),
    claimed_by   text,
    lease_until  timestamptz,
    attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX files_status ON files (status, received);

-- The file as received (encrypted as it came), one row per file.
CREATE TABLE spool (
    file_id  text PRIMARY KEY REFERENCES files (file_id) ON DELETE CASCADE,
    data     bytea NOT NULL
);

-- Messages taken from a mailbox, keyed by UIDVALIDITY+UID; claimed like files while they are
-- being spooled and moved.
CREATE TABLE messages (
    mailbox      text NOT NULL,
    uidvalidity  bigint NOT NULL,
    uid          bigint NOT NULL,
    message_id   text NOT NULL DEFAULT '',
    recorded     timestamptz NOT NULL DEFAULT now(),
    folder       text NOT NULL DEFAULT '',
    file_ids     text[] NOT NULL DEFAULT '{}',
    resent       text[] NOT NULL DEFAULT '{}',
    skipped      jsonb NOT NULL DEFAULT '[]',
    moved        boolean NOT NULL DEFAULT false,
    claimed_by   text,
    lease_until  timestamptz,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
CREATE INDEX messages_message_id ON messages (mailbox, message_id) WHERE message_id <> '';

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
    record   jsonb NOT NULL,
    PRIMARY KEY (file_id, row_no)
);

-- A file's report (SPEC 5 report.json and report.txt), in the same transaction as the ledger change.
CREATE TABLE file_reports (
    file_id     text PRIMARY KEY,
    report      jsonb NOT NULL,
    report_txt  text NOT NULL DEFAULT '',
    updated     timestamptz NOT NULL DEFAULT now()
);

-- Receipts to senders (SPEC 10): queued with the outcome, sent after it, retried with backoff.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_id    text NOT NULL UNIQUE,
    file_id       text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    created       timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL DEFAULT now(),
    last_error    text NOT NULL DEFAULT '',
    sent_at       timestamptz,
    claimed_by    text,
    lease_until   timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE sent_at IS NULL;

-- Console accounts (SPEC 9): Argon2id hashes, lockout counters.
CREATE TABLE operators (
    name           text PRIMARY KEY,
    password_hash  text NOT NULL,
    created        timestamptz NOT NULL DEFAULT now(),
    failures       jsonb NOT NULL DEFAULT '[]',
    locked_until   timestamptz
);

-- The audit log (SPEC 9): append-only.
CREATE TABLE audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL DEFAULT '',
    action    text NOT NULL,
    file_id   text NOT NULL DEFAULT '',
    remote    text NOT NULL DEFAULT '',
    detail    jsonb NOT NULL DEFAULT '{}'
);
