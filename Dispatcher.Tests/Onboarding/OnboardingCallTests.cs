using System.Net;
using System.Net.Http.Json;
using System.Xml.Linq;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Testing;
using Dispatcher.Web.Telephony.Emulation;
using Npgsql;

namespace Dispatcher.Tests.Onboarding;

public sealed class OnboardingCallTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_signup_through_the_API_gets_one_call_and_a_second_within_the_hour_none()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        using var client = harness.App.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "test-api-key");

        var first = await client.PostAsJsonAsync("/api/signups", new { user_id = "user-1", phone_number = "+15551110001", signup_mode = "trial" });
        var second = await client.PostAsJsonAsync("/api/signups", new { user_id = "user-1", phone_number = "+15551110001", signup_mode = "trial" });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var id = (await first.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("job_id").GetInt64(); // the API speaks snake_case
        await harness.WaitForAsync(id, "completed");
        await Task.Delay(500);
        Assert.Single(harness.Fake.CreateRequestsTo("+15551110001"));
        var request = harness.Fake.CreateRequests[0];
        Assert.Equal($"{harness.App.BaseUrl.TrimEnd('/')}/twiml/onboarding/{id}", request.Url);
        Assert.Equal(["answered", "completed"], request.StatusCallbackEvents);
    }

    [Fact]
    public async Task A_call_whose_final_status_callback_was_lost_is_settled_by_looking_it_up_at_Twilio()
    {
        // Found by the fault drill: Twilio sends each status callback once, and a lost final one left the row in progress for good.
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync(),
            new Dictionary<string, string> { ["RECONCILE_CALLS_AFTER_SECONDS"] = "1" });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(200);
        harness.Fake.CallbackCopies = () => 0; // every callback lost on the way
        var signup = await harness.SignUpAsync("user-lost-callback", "+15551110077");
        await Eventually.That(() => harness.Fake.Calls.Any(c => c.To == "+15551110077" && c.Status == "completed"), "the call ended at Twilio");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // no news for longer than RECONCILE_CALLS_AFTER_SECONDS

        await harness.App.Get<Dispatcher.Jobs.Onboarding.OnboardingCallReconciler>().PassAsync(CancellationToken.None);

        await harness.WaitForAsync(signup.JobId, "completed", TimeSpan.FromSeconds(5));
        Assert.Single(harness.Fake.CreateRequestsTo("+15551110077"));
    }

    [Fact]
    public async Task The_signup_API_needs_a_key_and_a_valid_body()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        using var client = harness.App.CreateClient();

        var anonymous = await client.PostAsJsonAsync("/api/signups", new { user_id = "u", phone_number = "+15551110009" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);

        client.DefaultRequestHeaders.Add("X-Api-Key", "test-api-key");
        var noPhone = await client.PostAsJsonAsync("/api/signups", new { user_id = "u" });
        Assert.Equal(HttpStatusCode.BadRequest, noPhone.StatusCode);
        Assert.Contains("phone_number", await noPhone.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_signup_an_hour_after_the_last_gets_a_new_call()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var now = DateTimeOffset.UtcNow;
        await using var dataSource = NpgsqlDataSource.Create(harness.DatabaseUrl);
        async Task<(long Id, bool Created)> RequestAt(DateTimeOffset at)
        {
            await using var command = dataSource.CreateCommand("SELECT job_id, created FROM request_onboarding_call('user-7', '+15551110007', 'demo', '{}', $1)");
            command.Parameters.Add(new NpgsqlParameter { Value = at });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetBoolean(1));
        }

        var first = await RequestAt(now.AddMinutes(-61));
        var withinTheHour = await RequestAt(now.AddMinutes(-2)); // 59 minutes after the first
        var afterTheHour = await RequestAt(now);                 // 61 minutes after the first

        Assert.True(first.Created);
        Assert.Equal((first.Id, false), withinTheHour);
        Assert.True(afterTheHour.Created);
        await harness.WaitForAsync(first.Id, "completed");
        await harness.WaitForAsync(afterTheHour.Id, "completed");
        Assert.Equal(2, harness.Fake.CreateRequestsTo("+15551110007").Count);
    }

    [Fact]
    public async Task A_Supabase_signup_through_the_auth_users_trigger_gets_one_personalised_call()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(databaseUrl))
        await using (var auth = dataSource.CreateCommand("""
            CREATE SCHEMA auth;
            CREATE TABLE auth.users (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                email text, phone text,
                raw_user_meta_data jsonb,
                created_at timestamptz NOT NULL DEFAULT now())
            """))
            await auth.ExecuteNonQueryAsync();
        await using var harness = await OnboardingHarness.StartAsync(databaseUrl);
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);

        await harness.ExecuteAsync("""
            INSERT INTO auth.users (email, raw_user_meta_data)
            VALUES ('ada@example.com', '{"phone":"+15551110002","signup_mode":"trial","first_name":"Ada"}')
            """);
        await harness.ExecuteAsync("""
            UPDATE auth.users SET email = 'ada@example.org'; -- not a signup: no call
            INSERT INTO auth.users (email) VALUES ('no-phone@example.com');
            """);

        await Eventually.That(() => harness.Fake.CreateRequests.Count >= 1);
        await Task.Delay(1000);
        var request = Assert.Single(harness.Fake.CreateRequests);
        Assert.Equal("+15551110002", request.To);
        using var client = harness.App.CreateClient();
        var twiml = await SignedGetAsync(client, harness, request.Url!);
        Assert.Contains("Hi Ada, welcome to your trial!", twiml);
    }

    [Fact]
    public async Task Busy_then_no_answer_then_completed_takes_three_attempts_with_backoff()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        var outcomes = new Queue<string>(["busy", "no-answer", "completed"]);
        harness.Fake.CallOutcome = _ => { lock (outcomes) return outcomes.Dequeue(); };

        var id = (await harness.SignUpAsync("user-2", "+15551110003")).JobId;
        var call = await harness.WaitForAsync(id, "completed");

        Assert.Equal(3, call.Attempts);
        var times = harness.Fake.CreateRequests.Select(r => r.At).Order().ToList();
        Assert.Equal(3, times.Count);
        Assert.True(times[1] - times[0] >= TimeSpan.FromSeconds(1), $"second attempt after {(times[1] - times[0]).TotalSeconds:F2} s");
        Assert.True(times[2] - times[1] >= TimeSpan.FromSeconds(2), $"third attempt after {(times[2] - times[1]).TotalSeconds:F2} s");
    }

    [Fact]
    public async Task An_invalid_number_fails_at_once_without_retry_and_a_rate_limit_is_retried()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.RespondNext(new EmulatedAnswer.Reject(400, TwilioEmulation.ErrorBody(400, 21211, "The 'To' number +15551110004 is not a valid phone number.")));
        var rejected = (await harness.SignUpAsync("user-3", "+15551110004")).JobId;
        var failed = await harness.WaitForAsync(rejected, "failed");
        Assert.Contains("21211", failed.LastError);

        harness.Fake.RespondNext(new EmulatedAnswer.RateLimit());
        var limited = (await harness.SignUpAsync("user-4", "+15551110005")).JobId;
        await harness.WaitForAsync(limited, "completed");

        Assert.Single(harness.Fake.CreateRequestsTo("+15551110004"));
        Assert.Equal(2, harness.Fake.CreateRequestsTo("+15551110005").Count);
    }

    [Fact]
    public async Task A_timed_out_request_is_settled_by_looking_the_call_up_not_by_dialling_again()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync(), new() { ["TWILIO_TIMEOUT_SECONDS"] = "1" });
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(2), CreateCall: true));

        var id = (await harness.SignUpAsync("user-5", "+15551110006")).JobId;
        await harness.WaitForAsync(id, "completed", TimeSpan.FromSeconds(40));

        Assert.Single(harness.Fake.CreateRequestsTo("+15551110006"));
    }

    [Fact]
    public async Task Forged_callbacks_get_403_and_out_of_order_ones_leave_the_final_status()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.CallDuration = _ => TimeSpan.FromMilliseconds(100);
        harness.Fake.ShuffleCallbacks = true; // completed arrives before answered
        var id = (await harness.SignUpAsync("user-6", "+15551110008")).JobId;
        var call = await harness.WaitForAsync(id, "completed");
        await harness.Fake.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("completed", (await harness.App.Get<Dispatcher.Jobs.Onboarding.Signups>().GetAsync(id, CancellationToken.None))!.Status);

        var forged = new Dictionary<string, string> { ["CallSid"] = call.TwilioCallSid!, ["CallStatus"] = "busy", ["SequenceNumber"] = "9" };
        var url = $"{harness.StatusCallbackUrl}?job={id}&attempt=1";
        Assert.Equal(403, await harness.Fake.SendCallbackAsync(url, forged, signature: "bm90IGEgc2lnbmF0dXJl"));
        Assert.Equal(403, await harness.Fake.SendCallbackAsync(url, forged, signature: ""));
        Assert.Equal(204, await harness.Fake.SendCallbackAsync(url, forged)); // genuine but late: the row is settled

        var after = (await harness.App.Get<Dispatcher.Jobs.Onboarding.Signups>().GetAsync(id, CancellationToken.None))!;
        Assert.Equal(("completed", 1), (after.Status, after.Attempts));
    }

    [Theory]
    [InlineData("trial", "welcome to your trial")]
    [InlineData("demo", "ready for your demo")]
    [InlineData("something-else", "thanks for signing up")]
    public async Task The_TwiML_for_each_signup_mode_is_valid_XML_even_for_awkward_names(string mode, string expected)
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.OnCreate = _ => new EmulatedAnswer.Reject(400, TwilioEmulation.ErrorBody(400, 21215, "not now")); // no call needed here
        var id = (await harness.SignUpAsync($"user-{mode}", "+15551110010", mode, firstName: "Bo <b> & \"Co\"")).JobId;
        using var client = harness.App.CreateClient();

        var twiml = await SignedGetAsync(client, harness, $"{harness.App.BaseUrl.TrimEnd('/')}/twiml/onboarding/{id}");

        var say = XDocument.Parse(twiml).Root!.Element("Say")!;
        Assert.Contains("Bo <b> & \"Co\"", say.Value);
        Assert.Contains(expected, say.Value);
        Assert.False(string.IsNullOrEmpty(say.Attribute("voice")?.Value));
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/twiml/onboarding/{id}")).StatusCode);
        var unknown = XDocument.Parse(await SignedGetAsync(client, harness, $"{harness.App.BaseUrl.TrimEnd('/')}/twiml/onboarding/987654"));
        Assert.NotNull(unknown.Root!.Element("Hangup"));
    }

    private static async Task<string> SignedGetAsync(HttpClient client, OnboardingHarness harness, string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Twilio-Signature", TwilioCallbackSignature.Sign(harness.Fake.AuthToken, url, []));
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
