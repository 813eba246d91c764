using System.Net;
using Dispatcher.Testing;
using Dispatcher.Tests.Onboarding;

namespace Dispatcher.Tests.Web;

/// <summary>POST /api/signups and GET /api/onboarding-calls/{id}, with the API's keys and problem answers.</summary>
public sealed class SignupApiTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_signup_gets_one_onboarding_call_which_can_be_read_back()
    {
        await using var harness = await OnboardingHarness.StartAsync(db.ConnectionString);
        using var client = ApiClient.For(harness.App);
        var signup = new { user_id = "user-api-1", phone_number = "+15553100001", signup_mode = "trial", metadata = new { first_name = "Ada" } };

        var first = await client.PostJsonAsync("/api/signups", signup);
        var created = await ApiClient.JsonAsync(first, HttpStatusCode.Created);
        var repeat = await ApiClient.JsonAsync(await client.PostJsonAsync("/api/signups", signup), HttpStatusCode.OK);

        var id = created.GetProperty("job_id").GetInt64();
        Assert.Equal(id, repeat.GetProperty("job_id").GetInt64());
        Assert.False(repeat.GetProperty("created").GetBoolean());
        var call = await ApiClient.JsonAsync(await client.GetAsync(first.Headers.Location), HttpStatusCode.OK);
        Assert.Equal("user-api-1", call.GetProperty("user_id").GetString());
        Assert.Equal("trial", call.GetProperty("signup_mode").GetString());
        Assert.Equal("Ada", call.GetProperty("metadata").GetProperty("first_name").GetString());
        await ApiClient.ProblemAsync(await client.GetAsync($"/api/onboarding-calls/{long.MaxValue}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_invalid_signup_gets_a_validation_problem_naming_its_fields()
    {
        await using var harness = await OnboardingHarness.StartAsync(db.ConnectionString);
        using var client = ApiClient.For(harness.App);

        var problem = await ApiClient.ProblemAsync(await client.PostJsonAsync("/api/signups", new { phone_number = "0800 123" }), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal("is required", errors.GetProperty("user_id")[0].GetString());
        Assert.Contains("E.164", errors.GetProperty("phone_number")[0].GetString());
    }

    [Fact]
    public async Task Signups_answer_503_when_onboarding_calls_are_off()
    {
        // Live telephony with Ultravox alone: without any provider the service would simulate both.
        await using var app = DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string>
        {
            ["API_KEYS"] = ApiClient.Key,
            ["ULTRAVOX_WEBHOOK_SECRETS"] = "a-secret",
        });
        using var client = ApiClient.For(app);

        var problem = await ApiClient.ProblemAsync(await client.PostJsonAsync("/api/signups", new { user_id = "u", phone_number = "+15553100002" }),
            HttpStatusCode.ServiceUnavailable);

        Assert.Contains("TWILIO_ACCOUNT_SID", problem.GetProperty("detail").GetString());
    }
}
