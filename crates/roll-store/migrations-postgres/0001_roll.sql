-- The voter roll (urne-roll-store). Sealed fields only: no column holds a plaintext date of
-- birth, ID number, phone or email.
CREATE TABLE roll_meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    roll_id TEXT NOT NULL,
    wrapped_key BYTEA NOT NULL
);
CREATE TABLE roll_voters (
    voter_id TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    commitment BYTEA NOT NULL,
    ix_registered BYTEA NOT NULL,
    ix_dl BYTEA,
    ix_ssn4_dob BYTEA,
    status SMALLINT NOT NULL CHECK (status BETWEEN 0 AND 2),
    precinct TEXT NOT NULL,
    voter_len BIGINT NOT NULL,
    voter_head BYTEA NOT NULL
);
CREATE INDEX roll_voters_registered ON roll_voters (ix_registered);
CREATE INDEX roll_voters_dl ON roll_voters (ix_dl) WHERE ix_dl IS NOT NULL;
CREATE INDEX roll_voters_ssn4_dob ON roll_voters (ix_ssn4_dob) WHERE ix_ssn4_dob IS NOT NULL;
CREATE INDEX roll_voters_commitment ON roll_voters (commitment);
CREATE TABLE roll_events (
    seq BIGINT PRIMARY KEY,
    voter_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason INTEGER NOT NULL,
    encoded BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE INDEX roll_events_voter ON roll_events (voter_id, seq);
CREATE INDEX roll_events_at ON roll_events (at);
CREATE TABLE roll_access (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    purpose TEXT NOT NULL,
    encoded BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
-- Append-only: history cannot be edited or deleted through SQL.
CREATE FUNCTION roll_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER roll_events_append_only BEFORE UPDATE OR DELETE ON roll_events
    FOR EACH ROW EXECUTE FUNCTION roll_append_only();
CREATE TRIGGER roll_access_append_only BEFORE UPDATE OR DELETE ON roll_access
    FOR EACH ROW EXECUTE FUNCTION roll_append_only();
CREATE TABLE roll_staff (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_phc TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE roll_tokens (
    hash BYTEA PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES roll_staff (id),
    created_at BIGINT NOT NULL
);
CREATE TABLE roll_pending (
    id BIGSERIAL PRIMARY KEY,
    requester TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    records BIGINT NOT NULL,
    body BYTEA NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE TABLE roll_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE roll_places (
    precinct TEXT PRIMARY KEY,
    place TEXT NOT NULL
);
