using System.Net;
using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Web.Telephony.Emulation;
using Dispatcher.Tests.Onboarding;

namespace Dispatcher.Tests.Web;

/// <summary>/metrics in Prometheus text format through prometheus-net, fed by the service's own meters.</summary>
public sealed class MetricsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Ultravox_dials_webhooks_provider_errors_and_jobs_show_on_metrics()
    {
        await using var harness = await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        harness.Fake.RespondNext(new EmulatedAnswer.RateLimit(429, "1"));
        var id = await harness.CreateBatchAsync(CampaignHarness.Contacts(2), callsPerMinute: 600, maxConcurrent: 2);
        await harness.WaitForBatchAsync(id, "completed", TimeSpan.FromSeconds(30));
        using var client = harness.App.CreateClient();

        var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        // prometheus-net's meter adapter publishes .NET counters as gauges (a Meter can be re-created, and a counter must never go down).
        Assert.Contains("# TYPE dispatcher_dials_total gauge", lines);
        Assert.Contains("dispatcher_dials_total{outcome=\"created\",provider=\"ultravox\"} 2", lines);
        Assert.Contains("dispatcher_dials_total{outcome=\"rate_limited\",provider=\"ultravox\"} 1", lines);
        Assert.Contains("dispatcher_provider_errors_total{error=\"rate_limited\",provider=\"ultravox\"} 1", lines);
        Assert.Contains("dispatcher_webhooks_total{provider=\"ultravox\",result=\"applied\"} 2", lines);
        Assert.Contains("# TYPE dispatcher_job_duration_seconds histogram", lines);
        Assert.Contains(lines, l => l.StartsWith("dispatcher_job_duration_seconds_bucket{job_type=\"DialBatchJob\",outcome=\"succeeded\",le=\"+Inf\"} "));
        Assert.Contains(lines, l => l.StartsWith("dispatcher_job_duration_seconds_count{job_type=\"DialBatchJob\",outcome=\"succeeded\"} "));
        Assert.Contains("# TYPE dispatcher_jobs gauge", lines);
        Assert.Contains(lines, l => l.StartsWith("dispatcher_jobs{queue=\"all\",state=\"succeeded\"} "));
    }

    [Fact]
    public async Task Twilio_dials_are_counted_under_their_own_provider()
    {
        await using var harness = await OnboardingHarness.StartAsync(await db.CreateExtraDatabaseAsync());
        var signup = await harness.SignUpAsync("user-metrics-1", "+15553000001");
        await harness.WaitForAsync(signup.JobId, "completed");
        using var client = harness.App.CreateClient();

        var lines = (await client.GetStringAsync("/metrics")).Split('\n');

        Assert.Contains("dispatcher_dials_total{outcome=\"created\",provider=\"twilio\"} 1", lines);
        Assert.Contains(lines, l => l.StartsWith("dispatcher_webhooks_total{provider=\"twilio\",result=\"applied\"} "));
    }

    [Fact]
    public async Task Prometheus_nets_process_and_dotnet_metrics_are_served_too()
    {
        await using var app = DispatcherApp.Start(await db.CreateExtraDatabaseAsync());
        using var client = app.CreateClient();

        var lines = (await client.GetStringAsync("/metrics")).Split('\n');

        Assert.Contains(lines, l => l.StartsWith("process_cpu_seconds_total "));
        Assert.Contains(lines, l => l.StartsWith("dotnet_total_memory_bytes "));
    }
}
