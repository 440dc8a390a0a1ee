-- The voter roll (urne-roll-store). Sealed fields only: no column holds a plaintext date of
-- birth, ID number, phone or email.
CREATE TABLE roll_meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    roll_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL
);
CREATE TABLE roll_voters (
    voter_id TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    commitment BLOB NOT NULL,
    ix_registered BLOB NOT NULL,
    ix_dl BLOB,
    ix_ssn4_dob BLOB,
    status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    precinct TEXT NOT NULL,
    voter_len INTEGER NOT NULL,
    voter_head BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX roll_voters_registered ON roll_voters (ix_registered);
CREATE INDEX roll_voters_dl ON roll_voters (ix_dl) WHERE ix_dl IS NOT NULL;
CREATE INDEX roll_voters_ssn4_dob ON roll_voters (ix_ssn4_dob) WHERE ix_ssn4_dob IS NOT NULL;
CREATE INDEX roll_voters_commitment ON roll_voters (commitment);
CREATE TABLE roll_events (
    seq INTEGER PRIMARY KEY,
    voter_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    encoded BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX roll_events_voter ON roll_events (voter_id, seq);
CREATE INDEX roll_events_at ON roll_events (at);
CREATE TABLE roll_access (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    purpose TEXT NOT NULL,
    encoded BLOB NOT NULL,
    hash BLOB NOT NULL
);
-- Append-only: history cannot be edited or deleted through SQL.
CREATE TRIGGER roll_events_no_update BEFORE UPDATE ON roll_events
BEGIN SELECT RAISE(ABORT, 'roll_events is append-only'); END;
CREATE TRIGGER roll_events_no_delete BEFORE DELETE ON roll_events
BEGIN SELECT RAISE(ABORT, 'roll_events is append-only'); END;
CREATE TRIGGER roll_access_no_update BEFORE UPDATE ON roll_access
BEGIN SELECT RAISE(ABORT, 'roll_access is append-only'); END;
CREATE TRIGGER roll_access_no_delete BEFORE DELETE ON roll_access
BEGIN SELECT RAISE(ABORT, 'roll_access is append-only'); END;
CREATE TABLE roll_staff (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_phc TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE roll_tokens (
    hash BLOB PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES roll_staff (id),
    created_at INTEGER NOT NULL
);
CREATE TABLE roll_pending (
    id INTEGER PRIMARY KEY,
    requester TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    records INTEGER NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
);
CREATE TABLE roll_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE roll_places (
    precinct TEXT PRIMARY KEY,
    place TEXT NOT NULL
);
