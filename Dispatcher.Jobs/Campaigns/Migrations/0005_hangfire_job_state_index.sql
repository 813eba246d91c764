-- Hangfire's job lists (Succeeded, Failed, ...) as our dashboard monitoring API reads them: jobs in
-- one state, newest first, paged by OFFSET over ids before any join (DashboardMonitoringApi). With
-- this index a page is an index-only walk, the last of 900,000 succeeded jobs too; without it
-- PostgreSQL walks the primary key backwards and reads every job row it skips.
-- Hangfire installs its schema when its storage is created, which the service does before these
-- scripts run (DomainSchemaStartup); a database without Hangfire (some tests) has nothing to index.
DO $$
BEGIN
    IF to_regclass('hangfire.job') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS ix_dispatcher_job_statename_id ON hangfire.job (statename, id);
    END IF;
END $$;
