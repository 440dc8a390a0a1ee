-- Blobs (tiles, entry bundles, payloads, rendered pages) under their relative keys, so that
-- several `urne serve` processes on different hosts share one copy. `COLLATE "C"` makes
-- ORDER BY and the prefix range of `list` byte order, the order every Blobs backend returns.
CREATE TABLE blobs (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    bytes BYTEA NOT NULL
);

-- The process that holds a log's sequencing lock (a session advisory lock) and the URL it
-- takes releases at, so that the others can point publishers to it. Advisory, for redirects
-- only: the lock decides who sequences, and the checkpoint's compare-and-swap catches the rest.
CREATE TABLE leaders (
    name  TEXT NOT NULL PRIMARY KEY,
    url   TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL DEFAULT now()
);
