using Dispatcher.Jobs.HangfireJobs;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Testing;
using Hangfire;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Npgsql;

using Dispatcher.Tests.Web.Dashboard;

namespace Dispatcher.Tests.Onboarding;

/// <summary>Onboarding calls as Hangfire jobs: failed calls in Hangfire's Failed list, Requeue, and nobody called twice whatever Hangfire does.</summary>
public sealed class OnboardingJobTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_call_unanswered_three_times_is_a_failed_job_whose_reason_an_operator_reads()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var id = await FailThreeTimesAsync(harness, "user-f1", "+15552220001");

        var row = await harness.WaitForAsync(id, "failed");
        var details = await FailedJobAsync(harness, id);

        Assert.Equal(3, row.Attempts);
        var failed = details.History[0];
        Assert.Equal("No answer on 3 attempts (busy, no-answer, no-answer); last Twilio status no-answer", failed.Data["ExceptionMessage"]);
        Assert.DoesNotContain(" at ", failed.Data["ExceptionDetails"]); // no stack trace
        Assert.Equal(3, details.History.Count(h => h.StateName == ProcessingState.StateName)); // every attempt in the one job's history
        Assert.DoesNotContain("5552220001", string.Join(" ", details.History.SelectMany(h => h.Data.Values.Append(h.Reason ?? ""))));
    }

    [Fact]
    public async Task Requeue_of_the_failed_job_places_the_call_once_more()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var id = await FailThreeTimesAsync(harness, "user-f2", "+15552220002");
        var jobId = await JobIdAsync(harness, id);
        await FailedJobAsync(harness, id);
        harness.Fake.CallOutcome = _ => "completed";

        Assert.True(harness.App.Get<IBackgroundJobClient>().Requeue(jobId));

        var call = await harness.WaitForAsync(id, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(4, call.Attempts);
        Assert.Equal(4, harness.Fake.CreateRequestsTo("+15552220002").Count);
        Assert.NotNull(await ScalarAsync(harness, $"SELECT requeued_at FROM outbound_call_jobs WHERE id = {id}"));
    }

    [Fact]
    public async Task Requeue_clicked_in_Hangfires_Failed_list_is_recorded_on_the_call_under_the_signed_in_user()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync(),
            new() { ["DASHBOARD_USERNAME"] = "ops", ["DASHBOARD_PASSWORD"] = "correct horse" });
        var id = await FailThreeTimesAsync(harness, "user-f5", "+15552220007");
        var jobId = await JobIdAsync(harness, id);
        await FailedJobAsync(harness, id);
        harness.Fake.CallOutcome = _ => "completed";
        var (browser, _) = DashboardHttp.Browser(harness.App);
        using var signedIn = browser;
        var token = DashboardHttp.Token(await DashboardHttp.GetHtmlAsync(browser, "/hangfire/login", System.Net.HttpStatusCode.OK));
        await DashboardHttp.PostAsync(browser, "/hangfire/login", token, ("username", "ops"), ("password", "correct horse"), ("return", "/"));

        Assert.True((await DashboardHttp.PostAsync(browser, "/hangfire/jobs/failed/requeue", token, ("jobs[]", jobId))).IsSuccessStatusCode);

        var call = await harness.WaitForAsync(id, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal((4, "ops"), (call.Attempts, call.RequeuedBy));
        Assert.NotNull(call.RequeuedAt);
        Assert.Contains("requeued by ops", await DashboardHttp.GetHtmlAsync(browser, "/hangfire/onboarding", System.Net.HttpStatusCode.OK));
    }

    [Fact]
    public async Task Requeue_clicked_twice_places_the_call_once()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var id = await FailThreeTimesAsync(harness, "user-f3", "+15552220003");
        var jobId = await JobIdAsync(harness, id);
        await FailedJobAsync(harness, id);
        harness.Fake.CallOutcome = _ => "completed";
        var client = harness.App.Get<IBackgroundJobClient>();

        client.Requeue(jobId);
        client.Requeue(jobId);

        await harness.WaitForAsync(id, "completed", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(4)); // past the second performance's retry
        Assert.Equal(4, harness.Fake.CreateRequestsTo("+15552220003").Count);
    }

    [Fact]
    public async Task Retry_of_failed_calls_from_the_onboarding_page_requeues_each_calls_own_failed_job()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var id = await FailThreeTimesAsync(harness, "user-f4", "+15552220006");
        var jobId = await JobIdAsync(harness, id);
        await FailedJobAsync(harness, id);
        harness.Fake.CallOutcome = _ => "completed";

        Assert.Equal(1, await harness.App.Get<OnboardingCalls>().RetryFailedAsync([id], "dashboard", CancellationToken.None));

        var call = await harness.WaitForAsync(id, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(4, call.Attempts);
        Assert.Equal(jobId, await JobIdAsync(harness, id)); // still the one job of this call
        Assert.Equal("dashboard", await ScalarAsync(harness, $"SELECT requeued_by FROM outbound_call_jobs WHERE id = {id}"));
    }

    [Fact]
    public async Task The_same_job_performed_twice_at_once_places_one_call()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        // A row taken for enqueueing just now: nobody else enqueues it while the test performs its job.
        var id = (long)(await ScalarAsync(harness, """
            INSERT INTO outbound_call_jobs (user_id, phone_number, dedupe_key, dispatched_at)
            VALUES ('user-twice', '+15552220004', 'user-twice:1', now()) RETURNING id
            """))!;

        var performances = await Task.WhenAll(PerformAsync(harness, id, "77"), PerformAsync(harness, id, "77"));
        var again = await PerformAsync(harness, id, "77"); // Hangfire's retry of the one that had to wait

        Assert.Single(harness.Fake.CreateRequestsTo("+15552220004"));
        // The other stood down, or (still dialling) was told to come back: Hangfire's retry, which then stands down.
        Assert.All(performances, p => Assert.True(p is null or CallOutcomeUnknownException, p?.ToString()));
        Assert.Null(again);
        await harness.WaitForAsync(id, "completed");
    }

    [Fact]
    public async Task A_signup_whose_job_was_never_enqueued_gets_its_call_through_onboarding_dispatch()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync(), new() { ["ONBOARDING_DISPATCH_CRON"] = "*/2 * * * * *" });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);

        // Committed, but the process died before the enqueue: no job, and no NOTIFY heard (triggers off for this insert).
        await harness.ExecuteAsync("""
            SET session_replication_role = replica;
            INSERT INTO outbound_call_jobs (user_id, phone_number, dedupe_key, dispatched_at)
            VALUES ('user-lost', '+15552220005', 'user-lost:1', now() - interval '5 minutes');
            """);

        await Eventually.That(() => harness.Fake.CreateRequestsTo("+15552220005").Count == 1, "the lost signup called", TimeSpan.FromSeconds(30));
        using var connection = harness.App.Get<JobStorage>().GetConnection();
        var dispatch = connection.GetRecurringJobs([OnboardingDispatchJob.RecurringId]).Single();
        Assert.NotNull(dispatch.LastJobId);
        Assert.NotNull(await ScalarAsync(harness, "SELECT hangfire_job_id FROM outbound_call_jobs WHERE user_id = 'user-lost'"));
    }

    /// <summary>Busy, no-answer, no-answer: the row fails after its third attempt.</summary>
    private static async Task<long> FailThreeTimesAsync(OnboardingHarness harness, string user, string phone)
    {
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var outcomes = new Queue<string>(["busy", "no-answer", "no-answer"]);
        harness.Fake.CallOutcome = _ => { lock (outcomes) return outcomes.TryDequeue(out var o) ? o : "no-answer"; };
        var id = (await harness.SignUpAsync(user, phone)).JobId;
        await harness.WaitForAsync(id, "failed", TimeSpan.FromSeconds(30));
        return id;
    }

    private static async Task<JobDetailsDto> FailedJobAsync(OnboardingHarness harness, long id)
    {
        var jobId = await JobIdAsync(harness, id);
        var monitoring = harness.App.Get<JobStorage>().GetMonitoringApi();
        return await Eventually.Reaches(() => Task.FromResult(monitoring.JobDetails(jobId)), d => d.History[0].StateName == FailedState.StateName,
            d => $"job {jobId} is {d.History[0].StateName}, not Failed");
    }

    private static async Task<string> JobIdAsync(OnboardingHarness harness, long id) =>
        (string)(await ScalarAsync(harness, $"SELECT hangfire_job_id FROM outbound_call_jobs WHERE id = {id}"))!;

    /// <summary>Performs the row's job as a Hangfire worker would, under <paramref name="jobId"/>; the exception it ends with, or null.</summary>
    private static async Task<Exception?> PerformAsync(OnboardingHarness harness, long id, string jobId)
    {
        var storage = harness.App.Get<JobStorage>();
        using var connection = storage.GetConnection();
        var job = Job.FromExpression<OnboardingCallJob>(j => j.Run(id, "user", null!, CancellationToken.None));
        var context = new PerformContext(storage, connection, new BackgroundJob(jobId, job, DateTime.UtcNow), new JobCancellationToken(false));
        try
        {
            await harness.App.Get<OnboardingCallJob>().Run(id, "user", context, CancellationToken.None);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static async Task<object?> ScalarAsync(OnboardingHarness harness, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(harness.DatabaseUrl);
        await using var command = dataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }
}
