using Dispatcher.Jobs.Campaigns;
using Dispatcher.Testing;
using Hangfire;
using Hangfire.Storage.Monitoring;
using Npgsql;

namespace Dispatcher.Tests.Campaigns;

/// <summary>Calls that fail for good are failed Hangfire jobs, and Requeue on them places the call again once.</summary>
public sealed class CampaignFailedJobTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_contact_out_of_attempts_is_a_failed_job_with_the_reason_and_no_phone_number()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        harness.Fake.EndReason = _ => "unjoined";

        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(1), callsPerMinute: 600, maxConcurrent: 1, maxAttempts: 2);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));

        var failed = await Eventually.Reaches(() => Task.FromResult(FailedJobs(harness)), jobs => jobs.Count == 1, jobs => $"{jobs.Count} failed jobs",
            TimeSpan.FromSeconds(10));
        var (_, job) = failed.Single();
        Assert.Equal("CampaignCallJob", job.Job.Type.Name);
        Assert.Contains("call ended: unjoined (attempt 2 of 2)", job.ExceptionMessage);
        Assert.DoesNotContain(CampaignHarness.Contacts(1)[0].PhoneNumber, job.ExceptionMessage);
        Assert.DoesNotContain(CampaignHarness.Contacts(1)[0].PhoneNumber, string.Join(",", job.Job.Args));
    }

    [Fact]
    public async Task Requeue_on_a_failed_call_dials_it_again_once_however_often_it_is_clicked()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        var endReasons = new Queue<string>(["unjoined"]);
        harness.Fake.EndReason = _ => { lock (endReasons) return endReasons.TryDequeue(out var reason) ? reason : "hangup"; };
        var contact = CampaignHarness.Contacts(1)[0];
        var batchId = await harness.CreateBatchAsync([contact], callsPerMinute: 600, maxConcurrent: 1);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        var jobId = await Eventually.Reaches(() => Task.FromResult(FailedJobs(harness)), jobs => jobs.Count == 1, jobs => $"{jobs.Count} failed jobs",
            TimeSpan.FromSeconds(10)).ContinueWith(t => t.Result.Single().Key);

        var client = harness.App.Get<IBackgroundJobClient>();
        Assert.True(client.Requeue(jobId));
        client.Requeue(jobId); // a second click, while the first is under way or done

        await Eventually.That(async () => (await harness.ContactsOfAsync(batchId))[0] is { Status: "completed", Attempts: 2 }, timeout: TimeSpan.FromSeconds(30));
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second dial, were there one, would have gone out by now
        Assert.Equal(2, harness.Fake.CreateRequestsFor(contact.PhoneNumber));
        Assert.Empty(FailedJobs(harness));
        await using var requeued = NpgsqlDataSource.Create(harness.DatabaseUrl).CreateCommand("SELECT requeued_at IS NOT NULL FROM campaign_contacts");
        Assert.Equal(true, await requeued.ExecuteScalarAsync());
        await harness.AssertCountersMatchContactsAsync(batchId);
    }

    [Fact]
    public async Task Retrying_a_batchs_failed_contacts_takes_their_failed_jobs_off_the_failed_list()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        var endReasons = new Queue<string>(["unjoined", "unjoined"]);
        harness.Fake.EndReason = _ => { lock (endReasons) return endReasons.TryDequeue(out var reason) ? reason : "hangup"; };
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 1);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        await Eventually.That(() => FailedJobs(harness).Count == 2, timeout: TimeSpan.FromSeconds(10));

        Assert.Equal(2, await harness.App.Get<Batches>().RetryFailedAsync(batchId, "operator", CancellationToken.None));

        Assert.Empty(FailedJobs(harness));
        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(2, batch.Completed);
    }

    [Fact]
    public async Task A_batch_without_an_Ultravox_key_is_a_failed_job_and_goes_on_when_requeued_after_the_key_is_set()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), apiKey: null);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        var batchId = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 2);
        await harness.WaitForBatchAsync(batchId, "failed", TimeSpan.FromSeconds(30));
        var (jobId, job) = await Eventually.Reaches(() => Task.FromResult(FailedJobs(harness)), jobs => jobs.Count == 1, jobs => $"{jobs.Count} failed jobs",
            TimeSpan.FromSeconds(10)).ContinueWith(t => t.Result.Single());
        Assert.Contains("no Ultravox API key", job.ExceptionMessage);

        await harness.App.Get<AgencyDirectory>().SetApiKeyAsync(harness.AgencyId, CampaignHarness.ApiKey, CancellationToken.None);
        Assert.True(harness.App.Get<IBackgroundJobClient>().Requeue(jobId));

        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(2, batch.Completed);
    }

    [Fact]
    public async Task A_batch_committed_without_its_job_is_given_one_by_the_tick()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        // As if the service had stopped between the batch's commit and its job's creation.
        await using var dataSource = NpgsqlDataSource.Create(harness.DatabaseUrl);
        await using var insert = dataSource.CreateCommand("""
            WITH batch AS (
                INSERT INTO call_batches (agency_id, agent_mapping_id, name, status, calls_per_minute, max_concurrent, created_at, updated_at)
                VALUES ($1, $2, 'Orphan', 'pending', 600, 2, now(), now()) RETURNING id)
            INSERT INTO campaign_contacts (batch_id, phone_number, status_changed_at, created_at, updated_at)
            SELECT id, '+15552000000', now(), now(), now() FROM batch
            RETURNING batch_id
            """);
        insert.Parameters.Add(new NpgsqlParameter { Value = harness.AgencyId });
        insert.Parameters.Add(new NpgsqlParameter { Value = harness.MappingId });
        var batchId = (long)(await insert.ExecuteScalarAsync())!;

        var batch = await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(1, batch.Completed);
    }

    [Fact]
    public async Task A_dial_job_performed_twice_at_once_dials_each_contact_once_at_its_pace()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        var contacts = CampaignHarness.Contacts(20);
        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 600, maxConcurrent: 3);
        // What Hangfire does after an invisibility timeout or a second Requeue: the same job runs again while it runs.
        var dialer = harness.App.Get<BatchDialer>();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => dialer.RunAsync(batchId, "job-performed-twice", CancellationToken.None))));

        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(30));
        Assert.All(contacts, c => Assert.Equal(1, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        Assert.InRange(harness.Fake.MaxLiveCallsFor(CampaignHarness.ApiKey), 1, 3);
        var sent = await harness.DialTimesAsync(batchId);
        Assert.True(sent.Zip(sent.Skip(1), (a, b) => b - a).Min() >= TimeSpan.FromMilliseconds(70));
    }

    [Fact]
    public async Task A_dial_job_fetched_again_after_its_invisibility_timeout_while_it_dials_calls_nobody_twice()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), instances: 2,
            settings: new() { ["HANGFIRE_CAMPAIGN_INVISIBILITY_TIMEOUT_SECONDS"] = "1" });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var contacts = CampaignHarness.Contacts(25);

        // 25 dials 0.3 s apart: the dial job runs for 7 s, and other workers fetch it again meanwhile.
        var batchId = await harness.CreateBatchAsync(contacts, callsPerMinute: 200, maxConcurrent: 2);
        await harness.WaitForBatchAsync(batchId, "completed", TimeSpan.FromSeconds(60));

        Assert.All(contacts, c => Assert.Equal(1, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        var sent = await harness.DialTimesAsync(batchId);
        Assert.True(sent.Zip(sent.Skip(1), (a, b) => b - a).Min() >= TimeSpan.FromMilliseconds(270));
        await using var refetched = NpgsqlDataSource.Create(harness.DatabaseUrl).CreateCommand(
            "SELECT count(*) FROM hangfire.state s JOIN hangfire.job j ON j.id = s.jobid WHERE s.name = 'Processing' AND j.invocationdata::text LIKE '%DialBatchJob%'");
        Assert.True((long)(await refetched.ExecuteScalarAsync())! > 1, "the dial job was performed more than once");
    }

    [Fact]
    public async Task A_batch_whose_transaction_rolls_back_leaves_no_job()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());

        // The agent mapping belongs to no agency: the insert finds it inside the transaction, which rolls back.
        await Assert.ThrowsAsync<ArgumentException>(() => harness.App.Get<Batches>().CreateAsync(
            new NewBatch(harness.AgencyId, AgentMappingId: 999_999, "Doomed", 60, 1, CampaignHarness.Contacts(3)), CancellationToken.None));

        await using var dataSource = NpgsqlDataSource.Create(harness.DatabaseUrl);
        await using var batches = dataSource.CreateCommand("SELECT count(*) FROM call_batches");
        Assert.Equal(0L, await batches.ExecuteScalarAsync());
        await using var jobs = dataSource.CreateCommand("SELECT count(*) FROM hangfire.job WHERE invocationdata::text LIKE '%DialBatchJob%'");
        Assert.Equal(0L, await jobs.ExecuteScalarAsync());
    }

    private static Dictionary<string, FailedJobDto> FailedJobs(CampaignHarness harness) =>
        harness.App.Get<JobStorage>().GetMonitoringApi().FailedJobs(0, 100).ToDictionary(j => j.Key, j => j.Value);
}
