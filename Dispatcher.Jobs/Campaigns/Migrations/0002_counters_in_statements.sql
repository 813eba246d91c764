-- The counters of a contact UPDATE now change in the statement that moves the contacts (a
-- data-modifying CTE on call_batches, see CampaignSql.Counted), so they still change atomically
-- with every transition. The statement trigger did the same work through transition tables,
-- jsonb and a second update of the batch row, and cost about as much as the moves themselves on
-- every dial. Inserts (a batch's contacts, once) and deletes (a batch's removal) stay counted
-- by their statement triggers: rare and in bulk.
DROP TRIGGER campaign_contacts_updated ON campaign_contacts;
DROP FUNCTION campaign_contacts_updated();
