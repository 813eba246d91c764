extern alias bench;

using bench::Dispatcher.Bench.Drill;
using Dispatcher.Testing;
using Xunit.Abstractions;

namespace Dispatcher.Tests.Drill;

/// <summary>
/// The fault drill's 2-minute version (the bench's `drill` command runs the full one): three
/// instances of the service as separate processes, SIGKILLed in turn, a PostgreSQL restart in
/// immediate mode, providers that fail, hang, throttle and lose or double webhooks; then every row
/// checked against the providers' record of calls. Recovery times are the bench's figures, not asserted.
/// </summary>
public sealed class FaultDrillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kills_a_database_restart_and_misbehaving_providers_lose_nobody_call_nobody_twice_and_bad_input_writes_nothing()
    {
        // A cluster of its own: the drill restarts it, which the other test classes' shared server must not suffer.
        await using var server = await ThrowawayPostgres.StartAsync();
        var database = await server.CreateDatabaseAsync("fault_drill");
        var lines = new StringWriter();
        var progress = TextWriter.Synchronized(lines);
        var logs = Path.Combine(Path.GetTempPath(), "fault-drill-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new DrillEnvironment(database, () => SiblingProgram.For("Dispatcher.Web"), ct => server.RestartImmediatelyAsync(ct), logs, progress);

        DrillReport report;
        try
        {
            report = await FaultDrill.RunAsync(DrillPlan.Short(), env, CancellationToken.None);
        }
        finally
        {
            output.WriteLine(lines.ToString());
        }
        output.WriteLine(report.ToJson());

        Assert.Equal(DrillPlan.Short().Kills, report.Kills);
        Assert.Equal(1, report.PgRestarts);
        Assert.Equal(report.ContactsTotal, report.ContactsFinal);
        Assert.Equal(0, report.Lost);
        Assert.Equal(0, report.DoubleDials);
        Assert.Equal(0, report.ConcurrencyViolations);
        Assert.Equal(0, report.PaceViolations);
        Assert.True(report.Signups > 0, "no signup was accepted");
        Assert.True(report.BadInputsTried >= 200, $"only {report.BadInputsTried} bad inputs");
        Assert.Equal(report.BadInputsTried, report.BadInputsRefusedClean);
        Directory.Delete(logs, recursive: true); // kept when the drill fails, for its instances' logs
    }
}
