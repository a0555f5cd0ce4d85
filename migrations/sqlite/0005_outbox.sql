-- Outgoing operational events (issue 16). Kept in step with migrations/postgres/0005_outbox.sql.

-- The outbox: one row per notice and subscriber, written in the same commit as the state
-- change it reports, delivered by the subscriber's lane (one delivery at a time per
-- subscriber, across replicas: a row in `leases` named `notify:<subscriber>`).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber   TEXT    NOT NULL,          -- subscribers[].name
    msg_id       TEXT    NOT NULL,          -- webhook-id: the same across retries and replays
    event_type   TEXT    NOT NULL,          -- event.dead, reconcile.held, …
    body         TEXT    NOT NULL,          -- the JSON body, exactly as signed and sent
    status       TEXT    NOT NULL,          -- pending | delivered | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER NOT NULL,          -- due at (pending)
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    last_status  INTEGER,                   -- the subscriber's last HTTP status
    last_error   TEXT,
    delivered_ms INTEGER
);
CREATE INDEX outbox_lane ON outbox (subscriber, status, next_ms);
CREATE INDEX outbox_age ON outbox (status, updated_ms);

-- What the pull poller last said about each source, for `source.failing`.
CREATE TABLE source_health (
    source             TEXT PRIMARY KEY,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    failing_since_ms   INTEGER,          -- NULL while healthy
    last_error         TEXT,
    last_success_ms    INTEGER,
    notified_ms        INTEGER,          -- when source.failing was last written for this episode
    updated_ms         INTEGER NOT NULL
);

-- The W3C trace context (traceparent) of the request that delivered an event, so that the job
-- applying it continues the same trace across the queue. NULL when tracing is off.
ALTER TABLE events ADD COLUMN trace_context TEXT;
