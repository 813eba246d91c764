-- The dashboard lists onboarding calls by status, newest first, and counts them per status
-- (capped): both walk this index instead of the whole table once signups run into the millions.
CREATE INDEX outbound_call_jobs_status_idx ON outbound_call_jobs (status, id);
