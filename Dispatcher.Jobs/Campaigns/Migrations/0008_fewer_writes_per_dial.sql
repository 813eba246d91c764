-- Two things each dial paid for that nothing needed at that price.

-- A call's batch is its contact's batch: every statement that records a call takes batch_id from
-- the contact row it has just locked, and deleting a batch deletes its contacts, whose key deletes
-- their calls (calls_contact_id_fkey, ON DELETE CASCADE). The batch key added only a second
-- look-up to each recorded call.
ALTER TABLE calls DROP CONSTRAINT calls_batch_id_fkey;

-- Every live contact in an index of its own: a new entry at the dial and another when its call
-- began, for the reconciliation's look-up every few minutes, which now goes through the batches
-- that count such contacts (CampaignSql.StaleCalls, StaleUnknown).
DROP INDEX campaign_contacts_live_idx;
