-- Hangfire runs the jobs now (schema hangfire). The job engine it replaced kept its jobs, workers,
-- recurring jobs and migration records in schema dispatcher; DbUp has adopted those records.
DROP SCHEMA IF EXISTS dispatcher CASCADE;
