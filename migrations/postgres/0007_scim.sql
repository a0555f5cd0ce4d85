-- The SCIM view (issue 18): what each `scim` source's IdP set, written in the same transaction
-- as the canonical events it causes. Kept in step with migrations/sqlite/0007_scim.sql.
-- Ids are server-issued UUIDs, scoped to the source; `pk` orders listings stably.

CREATE TABLE scim_users (
    pk            BIGSERIAL PRIMARY KEY,
    source        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,          -- as sent
    user_name_key TEXT    NOT NULL,          -- lower-cased: unique without regard to case
    external_id   TEXT,
    user_key      TEXT,                      -- the identity email (lower-cased) events carry
    active        BIGINT  NOT NULL,          -- 1 | 0
    attrs         TEXT    NOT NULL,          -- the stored attributes as JSON
    version       BIGINT  NOT NULL,          -- meta.version
    created_ms    BIGINT  NOT NULL,
    modified_ms   BIGINT  NOT NULL,
    UNIQUE (source, id),
    UNIQUE (source, user_name_key)
);
-- One active user per email and source: two would fight over one Domo account.
CREATE UNIQUE INDEX scim_users_identity ON scim_users (source, user_key)
    WHERE user_key IS NOT NULL AND active = 1;
CREATE INDEX scim_users_external ON scim_users (source, external_id);

CREATE TABLE scim_groups (
    pk               BIGSERIAL PRIMARY KEY,
    source           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    display_name     TEXT    NOT NULL,
    display_name_key TEXT    NOT NULL,       -- lower-cased: unique without regard to case
    external_id      TEXT,
    attrs            TEXT    NOT NULL,
    version          BIGINT  NOT NULL,
    created_ms       BIGINT  NOT NULL,
    modified_ms      BIGINT  NOT NULL,
    UNIQUE (source, id),
    UNIQUE (source, display_name_key)
);
CREATE INDEX scim_groups_external ON scim_groups (source, external_id);

CREATE TABLE scim_members (
    pk       BIGSERIAL PRIMARY KEY,            -- the order members were added
    source   TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    ref      TEXT,                           -- `$ref` as sent
    kind     TEXT,                           -- `type` as sent
    UNIQUE (source, group_id, user_id),
    FOREIGN KEY (source, group_id) REFERENCES scim_groups (source, id) ON DELETE CASCADE,
    FOREIGN KEY (source, user_id) REFERENCES scim_users (source, id) ON DELETE CASCADE
);
CREATE INDEX scim_members_user ON scim_members (source, user_id);

-- The last event time (unix microseconds) handed out per user key: SCIM writes carry no time
-- of their own, so each key's times grow in commit order, whatever the replicas' clocks.
CREATE TABLE scim_clock (
    user_key TEXT PRIMARY KEY,
    last_us  BIGINT  NOT NULL
);
