-- Pulls from the identity providers' own APIs: one row per source with its cursor, the
-- schedule the replicas share, and the outcome of the last runs. Kept in step with
-- migrations/postgres/0004_pull.sql.

CREATE TABLE pull_state (
    source            TEXT PRIMARY KEY,
    cursor            TEXT,                      -- the provider's cursor, verbatim (Okta: the whole `next` URL)
    cursor_ms         INTEGER,                   -- when it was last read successfully
    newest_event_us   INTEGER,                   -- occurred_at of the newest event pulled (the lag)
    events_pulled     INTEGER NOT NULL DEFAULT 0, -- events read: stored, duplicate or ignored
    last_run_ms       INTEGER,                   -- when the last event pull ended
    last_success_ms   INTEGER,
    last_error        TEXT,
    last_error_ms     INTEGER,
    failures          INTEGER NOT NULL DEFAULT 0, -- consecutive failed runs (the backoff)
    next_run_ms       INTEGER,                   -- when the next event pull is due
    last_directory_ms INTEGER,                   -- when the last directory pass ended
    directory_error   TEXT,
    next_directory_ms INTEGER,                   -- when the next directory pass is due
    updated_ms        INTEGER NOT NULL
);

-- A run that covers one source's directory pass only names the source; NULL = a full reconcile.
ALTER TABLE reconcile_runs ADD COLUMN scope TEXT;
