-- Checkpoints the log signed that the witness refused as inconsistent with what it cosigned
-- (422, or 409 for the same size with another root): possible evidence of a split view.
-- Only the log key's holder can add rows; at most REFUSED_PER_ORIGIN_MAX per origin.
CREATE TABLE refused (
    id     INTEGER PRIMARY KEY,
    origin TEXT    NOT NULL,
    status INTEGER NOT NULL,
    body   BLOB    NOT NULL
) STRICT;
CREATE INDEX refused_origin ON refused (origin);
