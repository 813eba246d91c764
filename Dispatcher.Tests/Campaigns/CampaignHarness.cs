using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.Telephony.Emulation;
using Dispatcher.Tests.Web;
using Npgsql;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Campaigns;

/// <summary>A fake Ultravox and one or more real service instances on one database, wired together.</summary>
public sealed class CampaignHarness : IAsyncDisposable
{
    public const string ApiKey = "agency-key-1";
    public const string AgentId = "0b7e3a52-6c1d-4f8e-9a34-2d5c7e9f1a60"; // Ultravox agent ids are UUIDs
    public const string FromNumber = "+15550000000";

    private CampaignHarness(string databaseUrl, UltravoxEmulation fake, List<DispatcherApp> apps)
    {
        DatabaseUrl = databaseUrl;
        Fake = fake;
        Apps = apps;
    }

    public string DatabaseUrl { get; }
    public UltravoxEmulation Fake { get; }
    public List<DispatcherApp> Apps { get; }
    public DispatcherApp App => Apps[0];
    public long AgencyId { get; private set; }
    public long MappingId { get; private set; }

    public static async Task<CampaignHarness> StartAsync(string databaseUrl, int instances = 1, Dictionary<string, string>? settings = null, string? apiKey = ApiKey,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var fake = await UltravoxEmulation.StartAsync();
        var all = new Dictionary<string, string>
        {
            ["ULTRAVOX_BASE_URL"] = fake.BaseUrl,
            ["ULTRAVOX_WEBHOOK_SECRETS"] = $"an-old-secret,{fake.WebhookSecret}",
            ["CAMPAIGN_TICK_CRON"] = "* * * * * *",
        };
        foreach (var (k, v) in settings ?? []) all[k] = v;
        var apps = Enumerable.Range(0, instances).Select(_ => DispatcherApp.Start(databaseUrl, all, services: services)).ToList();
        fake.WebhookUrl = apps[0].BaseUrl.TrimEnd('/') + "/webhooks/ultravox";
        var harness = new CampaignHarness(databaseUrl, fake, apps);
        var directory = harness.App.Get<AgencyDirectory>();
        harness.AgencyId = await directory.CreateAgencyAsync("Acme Outreach", apiKey, CancellationToken.None);
        harness.MappingId = await directory.CreateAgentMappingAsync(harness.AgencyId, AgentId, "Sales agent", FromNumber, CancellationToken.None);
        return harness;
    }

    public static IReadOnlyList<NewContact> Contacts(int count, int first = 0) =>
        Enumerable.Range(first, count).Select(i => new NewContact($"+1555{1000000 + i}", $"Contact {i}", new Dictionary<string, string> { ["plan"] = "gold" })).ToList();

    public Task<long> CreateBatchAsync(IReadOnlyList<NewContact> contacts, int callsPerMinute, int maxConcurrent, int maxAttempts = 1, DateTimeOffset? scheduledFor = null) =>
        App.Get<Batches>().CreateAsync(new NewBatch(AgencyId, MappingId, "Spring campaign", callsPerMinute, maxConcurrent, contacts, maxAttempts, scheduledFor),
            CancellationToken.None);

    public Task<BatchSummary> WaitForBatchAsync(long batchId, string status, TimeSpan timeout) => WaitForBatchAsync(App, batchId, status, timeout);

    /// <summary>Until the batch has <paramref name="status"/>; a timeout tells its counters and its dialer.</summary>
    public static Task<BatchSummary> WaitForBatchAsync(DispatcherApp app, long batchId, string status, TimeSpan timeout) =>
        Eventually.Reaches(async () => (await app.Get<Batches>().GetAsync(batchId, CancellationToken.None))!, batch => batch.Status == status,
            async batch => $"batch {batchId} is {batch.Status} ({batch.Completed} completed, {batch.Failed} failed, {batch.Queued} queued, {batch.InProgress} in progress, {batch.Unknown} unknown), not {status}; its dialer: {await DialerOfAsync(app, batchId)}",
            timeout);

    private static async Task<string> DialerOfAsync(DispatcherApp app, long batchId)
    {
        await using var command = app.Get<NpgsqlDataSource>().CreateCommand("""
            SELECT format('%s until %s, its Hangfire job %s', b.dialer, b.dialer_lease_until, coalesce(j.statename, 'not found'))
            FROM call_batches b LEFT JOIN hangfire.job j ON j.id::text = split_part(b.dialer, '/', 1)
            WHERE b.id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        return await command.ExecuteScalarAsync() as string ?? "none";
    }

    /// <summary>The batch's counters against its contacts' actual states.</summary>
    public async Task AssertCountersMatchContactsAsync(long batchId)
    {
        var batch = (await App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!;
        await using var dataSource = NpgsqlDataSource.Create(DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT status, count(*)::int FROM campaign_contacts WHERE batch_id = $1 GROUP BY status");
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        var actual = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) actual[reader.GetString(0)] = reader.GetInt32(1);
        Assert.Equal(actual.Values.Sum(), batch.Total);
        Assert.Equal(actual.GetValueOrDefault("pending"), batch.Pending);
        Assert.Equal(actual.GetValueOrDefault("queued"), batch.Queued);
        Assert.Equal(actual.GetValueOrDefault("dialing"), batch.Dialing);
        Assert.Equal(actual.GetValueOrDefault("in_progress"), batch.InProgress);
        Assert.Equal(actual.GetValueOrDefault("unknown"), batch.Unknown);
        Assert.Equal(actual.GetValueOrDefault("completed"), batch.Completed);
        Assert.Equal(actual.GetValueOrDefault("failed"), batch.Failed);
        Assert.Equal(actual.GetValueOrDefault("cancelled"), batch.Cancelled);
    }

    /// <summary>When each of the batch's dial requests went out, as the service recorded it, in order.</summary>
    public async Task<List<DateTimeOffset>> DialTimesAsync(long batchId)
    {
        await using var dataSource = NpgsqlDataSource.Create(DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT dialed_at FROM calls WHERE batch_id = $1 AND dialed_at IS NOT NULL ORDER BY dialed_at");
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        var list = new List<DateTimeOffset>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) list.Add(reader.GetFieldValue<DateTimeOffset>(0));
        return list;
    }

    public async Task<List<(string Phone, string Status, int Attempts, string? Error)>> ContactsOfAsync(long batchId)
    {
        await using var dataSource = NpgsqlDataSource.Create(DatabaseUrl);
        await using var command = dataSource.CreateCommand("SELECT phone_number, status, attempts, last_error FROM campaign_contacts WHERE batch_id = $1 ORDER BY id");
        command.Parameters.Add(new NpgsqlParameter { Value = batchId });
        var list = new List<(string, string, int, string?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) list.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Apps) await app.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
