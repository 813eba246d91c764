-- Hangfire performs jobs at least once and has no unique jobs: the batch row names the one job
-- that may dial it. `dialer` is 'JOB/RUN' while a run of that Hangfire job dials (its lease
-- renewed as it goes), 'JOB' while the batch is handed to a job that has not started yet, NULL
-- when nobody dials. A dialer whose lease has passed is gone (killed, or lost) and may be replaced.
ALTER TABLE call_batches
    ADD COLUMN dialer             text,
    ADD COLUMN dialer_lease_until timestamptz;

-- Processing batches nobody dials, for the tick.
CREATE INDEX call_batches_undialled_idx ON call_batches (dialer_lease_until NULLS FIRST) WHERE status = 'processing';

-- A contact whose call failed for good is a failed Hangfire job; Requeue on it places the call
-- again with one more attempt (`extra_attempts` beyond the batch's max_attempts), recorded here.
ALTER TABLE campaign_contacts
    ADD COLUMN failed_job_id  text,
    ADD COLUMN extra_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN requeued_at    timestamptz,
    ADD COLUMN requeued_by    text;

-- Failed contacts that have no failed job yet (the service stopped between the two), for the tick.
CREATE INDEX campaign_contacts_failed_without_job_idx ON campaign_contacts (id) WHERE status = 'failed' AND failed_job_id IS NULL;
