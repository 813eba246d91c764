using System.Net;
using System.Text;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Tests.Onboarding;
using Dispatcher.Tests.Web;
using Dispatcher.Web.Telephony.Emulation;
using Dispatcher.Web.Simulation;

namespace Dispatcher.Tests.Simulation;

/// <summary>
/// With TELEPHONY_MODE=simulated the real clients call the simulator inside the service over HTTP,
/// and the simulator answers through the real, signature-checked webhook routes.
/// </summary>
public sealed class SimulatedTelephonyTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly Dictionary<string, string> Quick = new()
    {
        ["TELEPHONY_MODE"] = "simulated",
        ["SIMULATOR_ANSWER_SECONDS"] = "0.1-0.3",
        ["SIMULATOR_CALL_SECONDS"] = "0.2-0.6",
        ["SIMULATOR_NO_ANSWER_PERCENT"] = "0",
        ["SIMULATOR_FAILURE_PERCENT"] = "0",
        ["SIMULATOR_RATE_LIMIT_PERCENT"] = "0",
        ["ONBOARDING_RETRY_BASE_SECONDS"] = "1",
        ["HANGFIRE_SCHEDULE_POLL_SECONDS"] = "1",
        ["CAMPAIGN_TICK_CRON"] = "* * * * * *",
    };

    private async Task<DispatcherApp> StartAsync(params (string Name, string Value)[] changes) => Start(await db.CreateExtraDatabaseAsync(), changes);

    private static DispatcherApp Start(string databaseUrl, params (string Name, string Value)[] changes)
    {
        var port = DispatcherApp.FreePort();
        var settings = new Dictionary<string, string>(Quick) { ["PORT"] = port.ToString() };
        foreach (var (name, value) in changes) settings[name] = value;
        return DispatcherApp.Start(databaseUrl, settings, port);
    }

    private static async Task<long> CreateBatchAsync(DispatcherApp app, int contacts, int maxConcurrent, int maxAttempts = 1)
    {
        var directory = app.Get<AgencyDirectory>();
        var agency = await directory.CreateAgencyAsync("Simulated agency", "any-key-will-do", CancellationToken.None);
        var agent = await directory.CreateAgentMappingAsync(agency, CampaignHarness.AgentId, "Agent", "+12025550100", CancellationToken.None);
        var people = Enumerable.Range(0, contacts).Select(i => new NewContact($"+1312555{i:0000}", $"Person {i}")).ToList();
        return await app.Get<Batches>().CreateAsync(new NewBatch(agency, agent, "Simulated batch", 600, maxConcurrent, people, maxAttempts), CancellationToken.None);
    }

    private static Task<BatchSummary> WaitForBatchAsync(DispatcherApp app, long id, string status) =>
        CampaignHarness.WaitForBatchAsync(app, id, status, TimeSpan.FromSeconds(60));

    private static Task<OnboardingCall> WaitForCallAsync(DispatcherApp app, long id, string status) =>
        OnboardingHarness.WaitForCallAsync(app, id, status, TimeSpan.FromSeconds(60));

    private static async Task CountReachesAsync(EmulationActivity activity, string provider, string what, long expected)
    {
        await Eventually.That(() => activity.Get(provider, what) >= expected, $"{expected} {provider} {what}", TimeSpan.FromSeconds(10));
        Assert.Equal(expected, activity.Get(provider, what));
    }

    [Fact]
    public async Task The_simulator_refuses_anyone_but_this_machine_so_nobody_can_make_it_sign_a_webhook()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Dispatcher.Web.Simulation.SimulatorOptions.UltravoxPrefix}/api/agents/agent-1/calls")
        {
            Content = new StringContent("""{"metadata":{"contact_id":"1","attempt":"1"}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-Key", "anything");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7"); // a client on the internet, through a proxy

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0, app.Get<EmulationActivity>().Get("ultravox", "created"));
    }

    [Fact]
    public async Task A_batch_is_dialled_through_simulated_Ultravox_and_finished_by_its_signed_webhooks()
    {
        await using var app = await StartAsync();
        var activity = app.Get<EmulationActivity>();

        var batch = await WaitForBatchAsync(app, await CreateBatchAsync(app, contacts: 12, maxConcurrent: 4), "completed");

        Assert.Equal(12, batch.Completed);
        Assert.Equal(12, activity.Get("ultravox", "created"));
        // Every call.ended went through POST /webhooks/ultravox and passed its signature check
        // (the simulator counts an answer once it has it, just after the batch's last change).
        await CountReachesAsync(activity, "ultravox", "webhook:204", 12);
        Assert.DoesNotContain(activity.Snapshot(), c => c.Key.What.StartsWith("webhook:") && c.Key.What != "webhook:204");
    }

    [Fact]
    public async Task No_answers_failures_and_429s_end_every_contact_once_without_dialling_anyone_twice()
    {
        await using var app = await StartAsync(("SIMULATOR_NO_ANSWER_PERCENT", "40"), ("SIMULATOR_FAILURE_PERCENT", "10"), ("SIMULATOR_RATE_LIMIT_PERCENT", "30"));
        var activity = app.Get<EmulationActivity>();

        var batch = await WaitForBatchAsync(app, await CreateBatchAsync(app, contacts: 25, maxConcurrent: 5), "completed");

        Assert.Equal(25, batch.Completed + batch.Failed);
        Assert.Equal(25, activity.Get("ultravox", "created"));
        Assert.True(activity.Get("ultravox", "rate-limited") > 0, "some creations were answered 429");
        Assert.Equal(batch.Failed, activity.Get("ultravox", "ended:unjoined") + activity.Get("ultravox", "ended:connection_error"));
        Assert.True(batch.Failed > 0, "some calls were not answered");
    }

    [Fact]
    public async Task A_service_restarted_in_simulated_mode_with_calls_left_in_progress_dials_again_within_seconds()
    {
        var database = await db.CreateExtraDatabaseAsync();
        long id;
        await using (var before = Start(database, ("SIMULATOR_CALL_SECONDS", "600-600"))) // calls that outlast the run
        {
            id = await CreateBatchAsync(before, contacts: 6, maxConcurrent: 2);
            await Eventually.Reaches(() => before.Get<Batches>().GetAsync(id, CancellationToken.None), b => b!.InProgress == 2,
                b => $"{b!.InProgress} of 2 calls in progress", TimeSpan.FromSeconds(30));
        }

        // The restarted simulator knows none of the two calls, and no call.ended will ever come for them.
        await using var after = Start(database);

        // Reconciliation would look the calls up only after RECONCILE_CALLS_AFTER_SECONDS (120 s in simulated mode).
        await Eventually.That(() => after.Get<EmulationActivity>().Get("ultravox", "created") > 0, "a new dial after the restart", TimeSpan.FromSeconds(15));
        var batch = await WaitForBatchAsync(after, id, "completed");
        Assert.Equal(4, batch.Completed);
        Assert.Equal(2, batch.Failed);
        Assert.Equal(2, await ApiClient.CountAsync(database, $"SELECT count(*) FROM calls WHERE batch_id = {id} AND end_reason = 'system_error'"));
    }

    [Fact]
    public async Task A_signup_gets_its_call_through_simulated_Twilio_which_fetches_the_TwiML_and_calls_back_signed()
    {
        await using var app = await StartAsync();
        var activity = app.Get<EmulationActivity>();

        var signup = await app.Get<Signups>().RequestCallAsync(
            new Signup("user-1", "+14155550123", "default", new Dictionary<string, string> { ["first_name"] = "Sam" }), CancellationToken.None);
        var call = await WaitForCallAsync(app, signup.JobId, "completed");

        Assert.Equal("completed", call.LastCallStatus);
        Assert.StartsWith("CA", call.TwilioCallSid);
        Assert.Equal(1, activity.Get("twilio", "twiml:ok"));
        // answered, completed: both signed with the (simulated) auth token and accepted.
        await CountReachesAsync(activity, "twilio", "callback:204", 2);
        Assert.DoesNotContain(activity.Snapshot(), c => c.Key.What.StartsWith("callback:") && c.Key.What != "callback:204");
    }

    [Fact]
    public async Task A_signup_nobody_answers_is_called_again_with_backoff_until_its_attempts_run_out()
    {
        await using var app = await StartAsync(("SIMULATOR_NO_ANSWER_PERCENT", "100"));

        var signup = await app.Get<Signups>().RequestCallAsync(new Signup("user-2", "+14155550124"), CancellationToken.None);
        var call = await WaitForCallAsync(app, signup.JobId, "failed");

        Assert.Equal(3, call.Attempts);
        Assert.Contains(call.LastCallStatus, new[] { "busy", "no-answer" });
        Assert.Equal(3, app.Get<EmulationActivity>().Get("twilio", "created"));
    }

    [Fact]
    public async Task The_simulator_is_no_back_door_a_forged_webhook_is_still_refused_and_the_mode_is_visible()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        var forged = new StringContent("""{"event":"call.ended","call":{"callId":"x","metadata":{"contact_id":"1","attempt":"1"}}}""", Encoding.UTF8, "application/json");
        forged.Headers.Add("X-Ultravox-Webhook-Timestamp", DateTimeOffset.UtcNow.ToString("o"));
        forged.Headers.Add("X-Ultravox-Webhook-Signature", new string('0', 64));
        var answer = await client.PostAsync("/webhooks/ultravox", forged);

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Contains("telephony: simulated", await client.GetStringAsync("/healthz"));
    }
}
