-- The console's sign-in sessions, kept in the store so they survive a restart and work on
-- every replica. Kept in step with migrations/postgres/0006_console.sql.
--
-- The browser holds a random 256-bit session id in an HttpOnly cookie; only its SHA-256 is
-- stored, so a copy of the database signs nobody in. The session names the API token it was
-- opened with (name and configured hash): a reload that removes or changes that token ends
-- the session, and the token's scopes are read from the live configuration on every request.
CREATE TABLE console_sessions (
    id_sha256    TEXT PRIMARY KEY,          -- hex SHA-256 of the session id
    token_name   TEXT    NOT NULL,
    token_sha256 TEXT    NOT NULL,          -- the token's configured hash (hex), never the token
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,          -- idle timeout: console.session_idle_secs
    expires_ms   INTEGER NOT NULL           -- absolute: created + console.session_max_secs
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_ms);

-- Replays of an event (the console marks replayed dead letters, and bulk replays skip them).
-- Partial: most events are not replays, and those rows cost the index nothing.
CREATE INDEX events_replay_of ON events (replay_of) WHERE replay_of IS NOT NULL;
