using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Tests.Web;

/// <summary>What running behind Render's proxy asks of the service: correlation ids, JSON logs, forwarded headers, readiness.</summary>
public sealed class HostingTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_callers_X_Request_Id_is_echoed_and_names_the_request_in_problems()
    {
        using var client = ApiClient.For(api.App);
        client.DefaultRequestHeaders.Add("X-Request-Id", "req-7f3a");

        var response = await client.GetAsync($"/api/batches/{long.MaxValue}");

        Assert.Equal("req-7f3a", response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("req-7f3a", (await ApiClient.ProblemAsync(response, HttpStatusCode.NotFound)).GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Without_X_Request_Id_the_trace_id_of_traceparent_correlates_the_request()
    {
        using var client = ApiClient.For(api.App);
        client.DefaultRequestHeaders.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        var response = await client.GetAsync("/healthz");

        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task A_problems_trace_id_is_the_requests_trace_context_continuing_the_callers_traceparent()
    {
        using var client = ApiClient.For(api.App);
        client.DefaultRequestHeaders.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        var problem = await ApiClient.ProblemAsync(await client.GetAsync($"/api/batches/{long.MaxValue}"), HttpStatusCode.NotFound);

        // 00-{trace id}-{this request's span id}-{flags}: the trace id is what the logs carry as TraceId.
        Assert.Matches("^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-[0-9a-f]{2}$", problem.GetProperty("trace_id").GetString());
    }

    [Theory]
    [InlineData(null, "https")]
    [InlineData("false", "http")]
    public async Task X_Forwarded_Proto_from_the_proxy_is_honoured_unless_turned_off(string? setting, string scheme)
    {
        var settings = new Dictionary<string, string> { ["API_KEYS"] = ApiClient.Key };
        if (setting is not null) settings["FORWARDED_HEADERS"] = setting;
        await using var app = DispatcherApp.Start(api.DatabaseUrl, settings);
        using var client = ApiClient.For(app);
        client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        var response = await client.PostJsonAsync("/api/agencies", new { name = "Behind the proxy" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(scheme, response.Headers.Location!.Scheme);
        var document = await ApiClient.JsonAsync(await client.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        Assert.StartsWith($"{scheme}://", document.GetProperty("servers")[0].GetProperty("url").GetString());
    }

    [Fact]
    public async Task The_service_is_not_ready_while_a_domain_script_it_knows_is_not_applied()
    {
        const string script = "Dispatcher.Jobs.Campaigns.Migrations.0001_campaigns.sql";
        var databaseUrl = await api.Database.CreateExtraDatabaseAsync();
        await using var app = DispatcherApp.Start(databaseUrl);
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
        await using (var dataSource = NpgsqlDataSource.Create(databaseUrl))
        await using (var forget = dataSource.CreateCommand($"DELETE FROM public.schema_versions WHERE scriptname = '{script}'"))
            await forget.ExecuteNonQueryAsync();

        var problem = await ApiClient.ProblemAsync(await client.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable);

        Assert.Equal($"migrations not applied: {script}", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_first_start_on_an_empty_database_logs_no_error()
    {
        var log = new RecordedLog();

        await using (DispatcherApp.Start(await api.Database.CreateExtraDatabaseAsync(), services: services => services.AddSingleton<ILoggerProvider>(log))) { }

        Assert.Empty(log.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.Message));
    }

    [Fact]
    public async Task The_published_service_logs_JSON_lines_that_carry_the_requests_correlation_id()
    {
        var port = DispatcherApp.FreePort();
        var start = SiblingProgram.For("Dispatcher.Web");
        start.Environment["DATABASE_URL"] = api.DatabaseUrl;
        start.Environment["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey;
        start.Environment["API_KEYS"] = ApiClient.Key;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["TELEPHONY_MODE"] = "simulated"; // a published build runs as Production, which never simulates unasked
        var lines = new ConcurrentQueue<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = ApiClient.ForPort(port);
            await WaitUntilReadyAsync(client, process, lines);
            client.DefaultRequestHeaders.Add("X-Request-Id", "corr-5150");
            client.DefaultRequestHeaders.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

            Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/agencies", new { name = "Logged", ultravox_api_key = "never-logged-key" })).StatusCode);

            var created = (await Eventually.Reaches(() => Task.FromResult(lines.FirstOrDefault(l => l.Contains("Agency") && l.Contains("created"))),
                line => line is not null, _ => "no log line for the created agency", TimeSpan.FromSeconds(5)))!;
            using var log = JsonDocument.Parse(created); // every line is one JSON object
            Assert.Equal("Information", log.RootElement.GetProperty("LogLevel").GetString());
            Assert.Contains(log.RootElement.GetProperty("Scopes").EnumerateArray(),
                scope => scope.TryGetProperty("CorrelationId", out var id) && id.GetString() == "corr-5150");
            // The trace id of a problem's trace_id finds the request's lines too (README: request_id and trace_id).
            Assert.Contains(log.RootElement.GetProperty("Scopes").EnumerateArray(),
                scope => scope.TryGetProperty("TraceId", out var id) && id.GetString() == "4bf92f3577b34da6a3ce929d0e0e4736");
            Assert.DoesNotContain(lines, l => l.Contains("never-logged-key"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Calls_to_the_simulated_providers_are_machine_traffic_kept_out_of_the_information_log()
    {
        var port = DispatcherApp.FreePort();
        var log = new RecordedLog();
        await using var app = DispatcherApp.Start(api.DatabaseUrl, new Dictionary<string, string>
        {
            ["TELEPHONY_MODE"] = "simulated",
            ["PORT"] = port.ToString(),
        }, port, services => services.AddSingleton<ILoggerProvider>(log));
        using var client = app.CreateClient();
        using var simulatorCall = new HttpRequestMessage(HttpMethod.Get, "/simulator/ultravox/api/calls");
        simulatorCall.Headers.Add("X-API-Key", "an-agencys-ultravox-key"); // the simulated Ultravox's own header, not one of API_KEYS

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(simulatorCall)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/batches/1")).StatusCode);

        var information = log.Lines.Where(l => l.Level >= LogLevel.Information).Select(l => l.Message).ToList();
        Assert.DoesNotContain(information, m => m.Contains("/simulator/", StringComparison.Ordinal));
        Assert.DoesNotContain(information, m => m.Contains("was not authenticated", StringComparison.Ordinal));
        Assert.Contains(information, m => m.Contains("/api/batches/1", StringComparison.Ordinal) && m.Contains("401", StringComparison.Ordinal));
    }

    /// <summary>Every line the service logs, with its level.</summary>
    private sealed class RecordedLog : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(Lines);
        public void Dispose() { }

        private sealed class Logger(ConcurrentQueue<(LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }

    private static async Task WaitUntilReadyAsync(HttpClient client, Process process, ConcurrentQueue<string> lines)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"the service exited with {process.ExitCode}: {string.Join('\n', lines)}");
            try
            {
                if ((await client.GetAsync("/readyz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the service did not get ready: {string.Join('\n', lines)}");
            await Task.Delay(100);
        }
    }
}
