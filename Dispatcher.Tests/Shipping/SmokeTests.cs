using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dispatcher.Testing;
using Npgsql;

namespace Dispatcher.Tests.Shipping;

/// <summary>
/// The proof of the whole: the published service, started by ./run.sh as a separate process,
/// takes a batch as a CSV through the REST API, dials it through the simulator, and stops cleanly.
/// </summary>
[Collection(WholeServiceCollection.Name)]
public sealed class SmokeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IDisposable
{
    private readonly string _localDir = Directory.CreateTempSubdirectory("dispatcher-smoke-").FullName;

    [Fact]
    public async Task A_CSV_batch_sent_to_the_published_service_completes_through_the_simulator_and_SIGTERM_hands_a_dialling_batch_back()
    {
        var databaseUrl = await db.CreateExtraDatabaseAsync();
        await using var run = RunScript.Start(_localDir, new Dictionary<string, string>
        {
            ["SIMULATOR_ANSWER_SECONDS"] = "0.2-0.5",
            ["SIMULATOR_CALL_SECONDS"] = "0.5-1.5",
            ["SIMULATOR_NO_ANSWER_PERCENT"] = "20",
            ["SIMULATOR_RATE_LIMIT_PERCENT"] = "10",
        }, "--no-demo", "--database-url", databaseUrl);
        await run.WaitUntilReadyAsync(TimeSpan.FromMinutes(5));
        using var api = new HttpClient { BaseAddress = new Uri(run.BaseUrl) };
        api.DefaultRequestHeaders.Add("X-Api-Key", run.ApiKey);

        var agency = await CreatedAsync(await api.PostAsJsonAsync("/api/agencies", new { name = "Smoke Test Agency", ultravox_api_key = "simulated-key" }));
        var agent = await CreatedAsync(await api.PostAsJsonAsync($"/api/agencies/{agency.GetProperty("id")}/agents",
            new { ultravox_agent_id = "5d0c2f8a-3e71-4b9d-8c26-7a1e4f0b9d35", ultravox_agent_name = "Smoke agent", from_number = "+12025550100" }));
        var csv = new StringBuilder("phone_number,name,plan\n");
        for (var i = 0; i < 40; i++) csv.Append($"+1415555{i:0000},\"Contact, {i}\",gold\n");
        var created = await CreatedAsync(await api.PostAsync(
            $"/api/batches/csv?agency_id={agency.GetProperty("id")}&agent_mapping_id={agent.GetProperty("id")}&name=Smoke&calls_per_minute=600&max_concurrent=8",
            new StringContent(csv.ToString(), Encoding.UTF8, "text/csv")));
        var batchId = created.GetProperty("batch").GetProperty("id").GetInt64();
        Assert.Equal(40, created.GetProperty("imported").GetInt32());

        var batch = await WaitForCompletedAsync(api, batchId, run);
        Assert.Equal(40, batch.GetProperty("completed").GetInt32() + batch.GetProperty("failed").GetInt32());
        Assert.True(batch.GetProperty("completed").GetInt32() > 0);

        // A slow batch is dialling when SIGTERM comes: its dial job stops and hands the batch back.
        var slow = await CreatedAsync(await api.PostAsync(
            $"/api/batches/csv?agency_id={agency.GetProperty("id")}&agent_mapping_id={agent.GetProperty("id")}&name=Slow&calls_per_minute=30&max_concurrent=2",
            new StringContent("phone_number\n+14155559001\n+14155559002\n+14155559003\n+14155559004\n+14155559005\n", Encoding.UTF8, "text/csv")));
        var slowId = slow.GetProperty("batch").GetProperty("id").GetInt64();
        await Eventually.That(async () => JsonDocument.Parse(await api.GetStringAsync($"/api/batches/{slowId}")).RootElement
            .GetProperty("queued").GetInt32() < 5, "the slow batch dialling");

        Assert.Equal(0, await run.StopAsync(TimeSpan.FromSeconds(60)));
        await using var dataSource = NpgsqlDataSource.Create(databaseUrl);
        // Nobody dials: the batch is handed back to its job (no run holds it), which Hangfire put back in its queue.
        Assert.Equal(0L, await ScalarAsync(dataSource, "SELECT count(*) FROM call_batches WHERE dialer LIKE '%/%'"));
        Assert.Equal(0L, await ScalarAsync(dataSource, "SELECT count(*) FROM hangfire.jobqueue WHERE fetchedat IS NOT NULL"));
        Assert.Equal(0L, await ScalarAsync(dataSource, "SELECT count(*) FROM hangfire.server"));
        Assert.Equal(0L, await ScalarAsync(dataSource, $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {slowId} AND status = 'dialing'"));
    }

    private static async Task<JsonElement> CreatedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static Task<JsonElement> WaitForCompletedAsync(HttpClient api, long batchId, RunScript run) =>
        Eventually.Reaches(async () => JsonDocument.Parse(await api.GetStringAsync($"/api/batches/{batchId}")).RootElement,
            batch => batch.GetProperty("status").GetString() == "completed",
            batch => $"batch {batchId} is {batch}, not completed:\n{run.Output}", TimeSpan.FromSeconds(90), every: TimeSpan.FromMilliseconds(250));

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        try { Directory.Delete(_localDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
