-- Onboarding calls run as Hangfire jobs, one job per row for all its attempts. The row stays the
-- truth (an outbox): a job is enqueued after the row commits, and onboarding-dispatch enqueues one
-- for any queued row that has none.
ALTER TABLE outbound_call_jobs
    -- the Hangfire job that owns the row; NULL until one was enqueued
    ADD COLUMN hangfire_job_id  text,
    -- the performance of that job dialling the current attempt; NULL once it let go (Hangfire may
    -- perform a job twice at once: only the holder dials)
    ADD COLUMN claim_token      uuid,
    -- how each unanswered attempt ended (busy, no-answer...), for the failed job's reason
    ADD COLUMN attempt_outcomes text[] NOT NULL DEFAULT '{}',
    -- an operator's requeue of the failed call: when, and through what
    ADD COLUMN requeued_at      timestamptz,
    ADD COLUMN requeued_by      text;

COMMENT ON COLUMN outbound_call_jobs.dispatched_at IS 'when a job was last being enqueued for the row; another enqueue waits out a lease';

DROP INDEX outbound_call_jobs_new_idx;
CREATE INDEX outbound_call_jobs_unowned_idx ON outbound_call_jobs (created_at) WHERE status = 'queued' AND hangfire_job_id IS NULL;
