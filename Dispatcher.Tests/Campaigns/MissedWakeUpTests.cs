using System.Net;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Dispatcher.Web.Telephony.Emulation;
using Npgsql;

namespace Dispatcher.Tests.Campaigns;

/// <summary>
/// Hangfire.PostgreSql wakes an idle worker with an in-process signal when a job is enqueued, and
/// otherwise polls the campaigns queue every 120 s. The dispatch benchmark caught one wake-up of a
/// thousand going missing: its batch started 28 s late, when the job's lease ran out.
/// </summary>
public sealed class MissedWakeUpTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_due_batch_whose_dial_job_no_worker_was_woken_for_starts_within_seconds()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using var fake = await UltravoxEmulation.StartAsync();
        fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var port = DispatcherApp.FreePort();
        // Its own process: in this one, other tests' enqueues would wake its workers (the signal is process-wide).
        using var service = SiblingProgram.StartService(databaseUrl, new Dictionary<string, string>
        {
            ["API_KEYS"] = ApiClient.Key,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ULTRAVOX_BASE_URL"] = fake.BaseUrl,
            ["ULTRAVOX_WEBHOOK_SECRETS"] = fake.WebhookSecret,
            ["CALLING_HOURS"] = "daily 00:00-24:00",
            ["CAMPAIGN_TICK_CRON"] = "* * * * * *",
            ["HANGFIRE_CAMPAIGN_QUEUE_POLL_SECONDS"] = "120", // as in production: only a wake-up or the tick gets the job fetched
        });
        fake.WebhookUrl = $"http://127.0.0.1:{port}/webhooks/ultravox";
        try
        {
            using var api = ApiClient.ForPort(port);
            await SiblingProgram.WaitUntilReadyAsync(service, api);
            var batchId = await CreateBatchAsync(api, DateTimeOffset.UtcNow.AddHours(1), "+15553330001", "+15553330002", "+15553330003");

            // Its time has come, and its scheduled dial job was enqueued as Hangfire does, but no worker was woken.
            await using var dataSource = NpgsqlDataSource.Create(databaseUrl);
            var jobId = await EnqueueWithoutWakeUpAsync(dataSource, batchId);

            await Eventually.That(async () => await ScalarAsync<string>(dataSource, $"SELECT status FROM call_batches WHERE id = {batchId}") == "completed",
                "the batch completed", TimeSpan.FromSeconds(30));
            Assert.All(new[] { "+15553330001", "+15553330002", "+15553330003" }, phone => Assert.Equal(1, fake.CreateRequestsFor(phone)));
            Assert.Equal("Deleted", await ScalarAsync<string>(dataSource, $"SELECT statename FROM hangfire.job WHERE id = {jobId}"));
        }
        finally
        {
            service.Kill();
        }
    }

    private static async Task<long> CreateBatchAsync(HttpClient api, DateTimeOffset scheduledFor, params string[] phones)
    {
        var agency = await ApiClient.JsonAsync(await api.PostJsonAsync("/api/agencies", new { name = "Wake-up Outreach", ultravox_api_key = "wake-up-key" }),
            HttpStatusCode.Created);
        var agencyId = agency.GetProperty("id").GetInt64();
        var agent = await ApiClient.JsonAsync(await api.PostJsonAsync($"/api/agencies/{agencyId}/agents",
            new { ultravox_agent_id = CampaignHarness.AgentId, ultravox_agent_name = "Sales agent", from_number = CampaignHarness.FromNumber }), HttpStatusCode.Created);
        var created = await ApiClient.JsonAsync(await api.PostJsonAsync("/api/batches", new
        {
            agency_id = agencyId,
            agent_mapping_id = agent.GetProperty("id").GetInt64(),
            name = "Morning campaign",
            calls_per_minute = 600,
            max_concurrent = 2,
            scheduled_for = scheduledFor,
            contacts = phones.Select(p => new { phone_number = p }).ToArray(),
        }), HttpStatusCode.Created);
        return created.GetProperty("batch").GetProperty("id").GetInt64();
    }

    /// <summary>
    /// What Hangfire's scheduler writes when a scheduled job falls due (its Enqueued state, out of the
    /// schedule, into the queue), without the in-process signal. Returns the job's id.
    /// </summary>
    private static async Task<long> EnqueueWithoutWakeUpAsync(NpgsqlDataSource dataSource, long batchId)
    {
        var jobId = long.Parse((await ScalarAsync<string>(dataSource, $"UPDATE call_batches SET scheduled_for = now() WHERE id = {batchId} RETURNING dialer"))!);
        await using var command = dataSource.CreateCommand($"""
            WITH state AS (
                INSERT INTO hangfire.state (jobid, name, reason, createdat, data)
                VALUES ({jobId}, 'Enqueued', 'Triggered by DelayedJobScheduler', now() - interval '10 seconds', '{"{"}"Queue": "campaigns"{"}"}')
                RETURNING id),
            job AS (UPDATE hangfire.job SET stateid = (SELECT id FROM state), statename = 'Enqueued' WHERE id = {jobId}),
            unscheduled AS (DELETE FROM hangfire.set WHERE key = 'schedule' AND value IN ('{jobId}', 'campaigns:{jobId}'))
            INSERT INTO hangfire.jobqueue (jobid, queue) VALUES ({jobId}, 'campaigns')
            """);
        await command.ExecuteNonQueryAsync();
        return jobId;
    }

    private static async Task<T?> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (T?)await command.ExecuteScalarAsync();
    }
}
