-- Schema 2: each voter's sealed record moves to a table of its own. roll_voters keeps the
-- narrow columns its indexes and lookups read (about 130 bytes a voter instead of about 600),
-- so rebuilding an index after a bulk load scans a table that fits in memory at state scale.
-- Invariant: every roll_voters row has exactly one roll_sealed row with the same voter_id.
-- (PostgreSQL drops the column without rewriting the table: a roll migrated from schema 1
-- keeps the old sealed bytes in dead space until VACUUM FULL roll_voters.)
CREATE TABLE roll_sealed (
    voter_id TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL
);
INSERT INTO roll_sealed (voter_id, sealed) SELECT voter_id, sealed FROM roll_voters;
ALTER TABLE roll_voters DROP COLUMN sealed;
