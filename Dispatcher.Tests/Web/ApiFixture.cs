using Dispatcher.Testing;
using Dispatcher.Tests.Campaigns;

namespace Dispatcher.Tests.Web;

/// <summary>One database, a fake Ultravox and the service with API_KEYS set, shared by a test class.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly DatabaseFixture _db = new();
    private CampaignHarness? _harness;

    public CampaignHarness Harness => _harness ?? throw new InvalidOperationException("not started");
    public DispatcherApp App => Harness.App;
    public string DatabaseUrl => _db.ConnectionString;
    public DatabaseFixture Database => _db;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _harness = await CampaignHarness.StartAsync(_db.ConnectionString, settings: new() { ["API_KEYS"] = $"another-key,{ApiClient.Key}" });
    }

    public async Task DisposeAsync()
    {
        if (_harness is not null) await _harness.DisposeAsync();
        await _db.DisposeAsync();
    }
}
