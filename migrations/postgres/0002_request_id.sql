-- Links each event to the HTTP request that delivered it (the x-request-id), so the logs of
-- the webhook, its job and the job's Domo calls can be found with one search.
ALTER TABLE events ADD COLUMN request_id TEXT;
