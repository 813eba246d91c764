using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dispatcher.Jobs.Onboarding;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using Dispatcher.Web.Telephony.Emulation;
using Hangfire;
using Hangfire.States;
using Npgsql;

namespace Dispatcher.Tests.Onboarding;

/// <summary>A service instance in its own process, killed with SIGKILL while it places an onboarding call.</summary>
public sealed class OnboardingCrashTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_call_whose_instance_was_killed_before_Twilio_took_its_request_is_placed_once_by_another_instance()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using var twilio = await TwilioEmulation.StartAsync();
        twilio.CallDuration = _ => TimeSpan.FromSeconds(1);
        // Twilio holds the first request until its client goes away, and creates no call for it.
        twilio.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromMinutes(5), CreateCall: false));
        var (survivorPort, doomedPort) = (DispatcherApp.FreePort(), DispatcherApp.FreePort());
        var settings = Settings(twilio, survivorPort);

        using var doomed = SiblingProgram.StartService(databaseUrl, new Dictionary<string, string>(settings)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{doomedPort}",
            ["CALLING_HOURS"] = "daily 00:00-24:00",
            ["TWILIO_TIMEOUT_SECONDS"] = "60", // still waiting for Twilio's answer when it is killed
        });
        using var api = ApiClient.ForPort(doomedPort);
        await SiblingProgram.WaitUntilReadyAsync(doomed, api);
        using var signup = await api.PostAsJsonAsync("/api/signups", new { user_id = "user-killed", phone_number = "+15552229001" });
        Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        var id = JsonNode.Parse(await signup.Content.ReadAsStringAsync())!["job_id"]!.GetValue<long>();
        await Eventually.That(() => twilio.CreateRequestsTo("+15552229001").Count == 1, "the call's request at Twilio");

        await using var survivor = DispatcherApp.Start(databaseUrl, settings, survivorPort);
        doomed.Kill(); // SIGKILL, its request to Twilio in flight
        await doomed.WaitForExitAsync();

        // Hangfire fetches the job again once its keep-alive has stopped for the invisibility
        // timeout; the claim, abandoned, is taken over with a look-up, which finds no call: dialled.
        var call = await OnboardingHarness.WaitForCallAsync(survivor, id, "completed", TimeSpan.FromSeconds(90));
        Assert.Equal(1, call.Attempts);
        Assert.Equal(2, twilio.CreateRequestsTo("+15552229001").Count);
        Assert.Equal(call.TwilioCallSid, twilio.Calls.Single().Sid);
    }

    [Fact]
    public async Task A_call_whose_request_to_Twilio_outlasts_the_invisibility_timeout_is_performed_once()
    {
        var port = DispatcherApp.FreePort();
        await using var twilio = await TwilioEmulation.StartAsync();
        twilio.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        twilio.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(6), CreateCall: true));
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync(), new Dictionary<string, string>(Settings(twilio, port))
        {
            ["TWILIO_TIMEOUT_SECONDS"] = "30",
        }, port);

        var id = (await app.Get<Signups>().RequestCallAsync(new Signup("user-slow", "+15552229002", null, null), CancellationToken.None)).JobId;

        await OnboardingHarness.WaitForCallAsync(app, id, "completed", TimeSpan.FromSeconds(60));
        // Alive, its performance kept its fetch: no other worker took the job for dead meanwhile.
        await using var owner = app.Get<NpgsqlDataSource>().CreateCommand($"SELECT hangfire_job_id FROM outbound_call_jobs WHERE id = {id}");
        var jobId = (string)(await owner.ExecuteScalarAsync())!;
        var history = app.Get<JobStorage>().GetMonitoringApi().JobDetails(jobId).History;
        Assert.Single(history, h => h.StateName == ProcessingState.StateName);
        Assert.Single(twilio.CreateRequestsTo("+15552229002"));
    }

    /// <summary>Twilio's settings, and one public URL for every instance, as behind a load balancer: Twilio's callbacks reach the one on <paramref name="port"/>.</summary>
    private static Dictionary<string, string> Settings(TwilioEmulation twilio, int port) => new()
    {
        ["TWILIO_ACCOUNT_SID"] = twilio.AccountSid,
        ["TWILIO_AUTH_TOKEN"] = twilio.AuthToken,
        ["TWILIO_PHONE_NUMBER"] = "+15557654321",
        ["TWILIO_BASE_URL"] = twilio.BaseUrl,
        ["TWILIO_TIMEOUT_SECONDS"] = "2", // a claim is then taken for abandoned after 14 s
        ["API_BASE_URL"] = $"http://127.0.0.1:{port}",
        ["API_KEYS"] = ApiClient.Key,
        ["UNKNOWN_CALL_GRACE_SECONDS"] = "3",
        ["HANGFIRE_INVISIBILITY_TIMEOUT_SECONDS"] = "2",
    };
}
