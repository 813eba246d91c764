using Dispatcher.Jobs.Onboarding;
using Dispatcher.Web.Telephony.Emulation;
using Dispatcher.Tests.Web;
using Npgsql;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Onboarding;

/// <summary>A fake Twilio and the real service on one database, wired as a deployment would be.</summary>
public sealed class OnboardingHarness : IAsyncDisposable
{
    private OnboardingHarness(string databaseUrl, TwilioEmulation fake, DispatcherApp app)
    {
        DatabaseUrl = databaseUrl;
        Fake = fake;
        App = app;
    }

    public string DatabaseUrl { get; }
    public TwilioEmulation Fake { get; }
    public DispatcherApp App { get; }
    public string StatusCallbackUrl => App.BaseUrl.TrimEnd('/') + "/webhooks/twilio/status";

    public static async Task<OnboardingHarness> StartAsync(string databaseUrl, Dictionary<string, string>? settings = null)
    {
        var fake = await TwilioEmulation.StartAsync();
        var port = DispatcherApp.FreePort();
        var all = new Dictionary<string, string>
        {
            ["TWILIO_ACCOUNT_SID"] = fake.AccountSid,
            ["TWILIO_AUTH_TOKEN"] = fake.AuthToken,
            ["TWILIO_PHONE_NUMBER"] = "+15557654321",
            ["TWILIO_BASE_URL"] = fake.BaseUrl,
            ["API_BASE_URL"] = $"http://127.0.0.1:{port}",
            ["API_KEYS"] = "test-api-key",
            ["ONBOARDING_RETRY_BASE_SECONDS"] = "1",
            // Retries and next attempts are Hangfire scheduled jobs: look for due ones every second.
            ["HANGFIRE_SCHEDULE_POLL_SECONDS"] = "1",
            ["ONBOARDING_SCRIPTS"] = """{"trial":"Hi {first_name}, welcome to your trial!","demo":"Hello {first_name}, ready for your demo?"}""",
        };
        foreach (var (k, v) in settings ?? []) all[k] = v;
        return new OnboardingHarness(databaseUrl, fake, DispatcherApp.Start(databaseUrl, all, port));
    }

    public Task<SignupResult> SignUpAsync(string userId, string phone, string? mode = null, string firstName = "Sam") =>
        App.Get<Signups>().RequestCallAsync(new Signup(userId, phone, mode, new Dictionary<string, string> { ["first_name"] = firstName }), CancellationToken.None);

    public Task<OnboardingCall> WaitForAsync(long id, string status, TimeSpan? timeout = null) => WaitForCallAsync(App, id, status, timeout);

    /// <summary>Until the onboarding call has <paramref name="status"/>.</summary>
    public static Task<OnboardingCall> WaitForCallAsync(DispatcherApp app, long id, string status, TimeSpan? timeout = null) =>
        Eventually.Reaches(async () => (await app.Get<Signups>().GetAsync(id, CancellationToken.None))!, call => call.Status == status,
            call => $"onboarding call {id} is {call.Status} ({call.LastError}), not {status}", timeout);

    public async Task ExecuteAsync(string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(DatabaseUrl);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
