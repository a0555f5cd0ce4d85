-- domo-group-sync schema, PostgreSQL. Times are integers: *_ms in unix milliseconds,
-- occurred_at in unix microseconds. Kept in step with migrations/sqlite/0001_init.sql.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The inbox and the job queue in one row per event: ingest is one insert per event.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,          -- canonical type, or the sender's type when ignored
    job_key     TEXT,                      -- user:<email> | id:<source>:<idp id> | group:<name>
    user_key    TEXT,                      -- lower-cased email when known
    occurred_at BIGINT,                   -- unix microseconds at the sender
    received_ms BIGINT NOT NULL,
    payload     TEXT,                      -- the canonical event as JSON (NULL when ignored)
    status      TEXT    NOT NULL,          -- queued | running | done | dead | ignored
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_at_ms   BIGINT NOT NULL,
    lease_until BIGINT,
    lease_owner TEXT,
    last_error  TEXT,
    replay_of   BIGINT REFERENCES events(id),
    updated_ms  BIGINT NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX events_due ON events (status, run_at_ms);
CREATE INDEX events_job_key ON events (job_key, status);
CREATE INDEX events_user ON events (user_key, occurred_at);
CREATE INDEX events_received ON events (received_ms);

-- Per-user desired state (a JSON UserState) and what the service knows of the user in Domo.
CREATE TABLE user_states (
    user_key      TEXT PRIMARY KEY,
    state         TEXT    NOT NULL,
    domo_user_id  BIGINT,
    synced        BIGINT NOT NULL DEFAULT 0,  -- memberships below were read from Domo once
    last_event    BIGINT,
    updated_ms    BIGINT NOT NULL
);

-- Sender ids of users (Clerk's user_…), so an event that names a user by id finds the email.
CREATE TABLE identities (
    source   TEXT NOT NULL,
    idp_id   TEXT NOT NULL,
    user_key TEXT NOT NULL,
    PRIMARY KEY (source, idp_id)
);

-- Domo groups the service has seen, by lower-cased name.
CREATE TABLE domo_groups (
    name_key    TEXT PRIMARY KEY,
    name        TEXT    NOT NULL,
    domo_id     BIGINT NOT NULL,
    managed     BIGINT NOT NULL DEFAULT 0,  -- a rule names it, or the service created it
    created     BIGINT NOT NULL DEFAULT 0,  -- the service created it
    is_default  BIGINT NOT NULL DEFAULT 0,
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX domo_groups_id ON domo_groups (domo_id);

-- Email → Domo user id.
CREATE TABLE domo_users (
    email_key  TEXT PRIMARY KEY,
    domo_id    BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- The membership the service believes Domo has, for the users it manages.
CREATE TABLE memberships (
    user_key      TEXT    NOT NULL,
    domo_group_id BIGINT NOT NULL,
    group_name    TEXT    NOT NULL,
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (user_key, domo_group_id)
);

-- Every Domo call made on behalf of an event: what, why, and how it went.
CREATE TABLE audit (
    id            BIGSERIAL PRIMARY KEY,
    at_ms         BIGINT NOT NULL,
    event         BIGINT,
    user_key      TEXT,
    rule          BIGINT,
    op            TEXT    NOT NULL,
    group_name    TEXT,
    domo_group_id BIGINT,
    domo_user_id  BIGINT,
    http_status   BIGINT,
    outcome       TEXT    NOT NULL,   -- ok | error | dry_run
    error         TEXT,
    duration_ms   BIGINT NOT NULL
);
CREATE INDEX audit_event ON audit (event);
CREATE INDEX audit_user ON audit (user_key, at_ms);
