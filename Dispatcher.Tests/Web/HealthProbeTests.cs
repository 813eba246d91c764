using Dispatcher.Testing;

namespace Dispatcher.Tests.Web;

/// <summary>`Dispatcher.Web healthcheck`, the container health check of an image without curl.</summary>
public sealed class HealthProbeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static async Task<int> ProbeAsync(int port)
    {
        var start = SiblingProgram.For("Dispatcher.Web", "healthcheck");
        start.Environment["PORT"] = port.ToString();
        using var process = System.Diagnostics.Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return process.ExitCode;
    }

    [Fact]
    public async Task The_probe_succeeds_against_a_live_service_and_fails_where_none_listens()
    {
        var port = DispatcherApp.FreePort();
        await using (DispatcherApp.Start(db.ConnectionString, new Dictionary<string, string> { ["PORT"] = port.ToString() }, port))
            Assert.Equal(0, await ProbeAsync(port));

        Assert.Equal(1, await ProbeAsync(port));
    }
}
