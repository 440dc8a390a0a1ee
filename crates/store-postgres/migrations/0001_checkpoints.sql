-- One row per log: the latest checkpoint the sequencer committed (signed-note bytes).
-- Compared and swapped by urne-store-postgres; nothing else writes it.
CREATE TABLE checkpoints (
    log        TEXT  NOT NULL PRIMARY KEY,
    checkpoint BYTEA NOT NULL
);
