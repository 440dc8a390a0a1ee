-- One row per log origin: the latest checkpoint this witness cosigned. Compared and swapped by
-- urne-witness in one statement; nothing else writes it. `size` and `root` are what the
-- checks use; `note` is the signed checkpoint as received, kept as evidence.
CREATE TABLE cosigned (
    origin TEXT    NOT NULL PRIMARY KEY,
    size   INTEGER NOT NULL CHECK (size >= 0),
    root   BLOB    NOT NULL CHECK (length(root) = 32),
    note   BLOB    NOT NULL
) STRICT;
