-- Reconcile runs: the comparison of Domo's managed groups with the desired membership.
-- Kept in step with migrations/postgres/0003_reconcile.sql.

CREATE TABLE reconcile_runs (
    id           INTEGER PRIMARY KEY,
    started_ms   INTEGER NOT NULL,
    finished_ms  INTEGER,
    started_by   TEXT    NOT NULL,          -- api token name, cli, schedule
    apply        INTEGER NOT NULL,          -- 0 = dry run
    status       TEXT    NOT NULL,          -- running | planned | held | queued | failed
    plan         TEXT,                      -- the plan as JSON (the dry run's answer too)
    error        TEXT,
    approved_by  TEXT,
    approved_ms  INTEGER
);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_ms);

-- One row per named lease: at most one reconcile runs at once across replicas.
CREATE TABLE leases (
    name     TEXT PRIMARY KEY,
    owner    TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
);

-- The members of each managed group as the last run read them (Domo ids).
CREATE TABLE observed_members (
    domo_group_id INTEGER NOT NULL,
    domo_user_id  INTEGER NOT NULL,
    run_id        INTEGER NOT NULL,
    PRIMARY KEY (domo_group_id, domo_user_id)
);
