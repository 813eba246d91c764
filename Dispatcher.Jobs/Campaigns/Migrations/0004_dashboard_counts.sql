-- The dashboard's home metrics, read every few seconds: dials in the last minute, and failed
-- contacts whose failed Hangfire job waits for a requeue. Both stay short index walks at millions of rows.
CREATE INDEX calls_created_idx ON calls (created_at);
CREATE INDEX campaign_contacts_failed_job_idx ON campaign_contacts (id) WHERE status = 'failed' AND failed_job_id IS NOT NULL;
