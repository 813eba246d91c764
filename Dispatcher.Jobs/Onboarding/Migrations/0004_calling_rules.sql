-- Onboarding calls keep the do-not-call list too (issue 14): a number on it ends 'suppressed'.
ALTER TABLE outbound_call_jobs DROP CONSTRAINT outbound_call_jobs_status_check;
ALTER TABLE outbound_call_jobs ADD CONSTRAINT outbound_call_jobs_status_check
    CHECK (status IN ('queued', 'dialing', 'ringing', 'in_progress', 'completed', 'failed', 'cancelled', 'suppressed'));
