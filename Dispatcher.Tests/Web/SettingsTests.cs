using System.Diagnostics;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Web;

/// <summary>The published service refuses to start on a bad setting, with one line that names it.</summary>
public sealed class SettingsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Theory]
    [InlineData("TWILIO_PHONE_NUMBER", "5551234", "TWILIO_PHONE_NUMBER")]
    [InlineData("API_BASE_URL", "not a url", "API_BASE_URL")]
    [InlineData("CREDENTIALS_KEY", "c2hvcnQ=", "CREDENTIALS_KEY")]
    [InlineData("CAMPAIGN_TICK_CRON", "61 * * * *", "CAMPAIGN_TICK_CRON")]
    [InlineData("FORWARDED_HEADERS", "maybe", "FORWARDED_HEADERS")]
    [InlineData("LOG_FORMAT", "xml", "LOG_FORMAT")]
    [InlineData("DASHBOARD_USERNAME", "ops", "DASHBOARD_PASSWORD")]
    [InlineData("DASHBOARD_SHOW_PHONE_NUMBERS", "yes", "DASHBOARD_SHOW_PHONE_NUMBERS")]
    [InlineData("TWILIO_MACHINE_DETECTION", "on", "TWILIO_MACHINE_DETECTION")]
    [InlineData("TWILIO_RING_TIMEOUT_SECONDS", "601", "TWILIO_RING_TIMEOUT_SECONDS")]
    [InlineData("HANGFIRE_MAIN_CONNECTIONS", "0", "HANGFIRE_MAIN_CONNECTIONS")]
    public async Task A_malformed_setting_stops_the_service_with_one_line_naming_it(string name, string value, string named)
    {
        var settings = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = db.ConnectionString,
            ["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey,
            ["TWILIO_ACCOUNT_SID"] = "AC0123456789abcdef0123456789abcdef",
            ["TWILIO_AUTH_TOKEN"] = "token",
            ["TWILIO_PHONE_NUMBER"] = "+15557654321",
            ["API_BASE_URL"] = "https://dispatcher.example.com",
            [name] = value,
        };

        var (exitCode, stderr) = await RunServiceAsync(settings);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"configuration error: {named}", line);
    }

    private static async Task<(int ExitCode, string Stderr)> RunServiceAsync(Dictionary<string, string> settings)
    {
        var start = SiblingProgram.For("Dispatcher.Web");
        foreach (var (k, v) in settings) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stderr);
    }
}
