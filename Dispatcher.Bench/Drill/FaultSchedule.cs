namespace Dispatcher.Bench.Drill;

/// <summary>A SIGKILL: when, which instance, and the batches its dial jobs were dialling then (with contacts still to dial).</summary>
public sealed record KillRecord(DateTimeOffset At, string Instance, IReadOnlyList<long> DiallingBatches);

/// <summary>A PostgreSQL restart in immediate mode: when it began and when the server took connections again.</summary>
public sealed record RestartRecord(DateTimeOffset Began, DateTimeOffset Ended);

/// <summary>
/// The faults, spread evenly over the drill: SIGKILLs of a random live instance (one dialling
/// batches, while any is), each started again at once, and PostgreSQL restarts in immediate mode,
/// placed between kills.
/// </summary>
public sealed class FaultSchedule(DrillPlan plan, IReadOnlyList<ServiceInstance> instances, DrillDatabase database,
    Func<CancellationToken, Task>? restartDatabase, TextWriter progress)
{
    private readonly List<Task> _restarts = [];

    public List<KillRecord> Kills { get; } = [];

    public List<RestartRecord> Restarts { get; } = [];

    public async Task RunAsync(DateTimeOffset start, CancellationToken ct)
    {
        var random = new Random(plan.Seed);
        var events = Enumerable.Range(0, plan.Kills).Select(k => (At: plan.Duration * ((k + 0.5) / plan.Kills), Kill: true))
            .Concat(Enumerable.Range(0, restartDatabase is null ? 0 : plan.PostgresRestarts)
                .Select(r => (At: plan.Duration * ((r + 1.0) / (plan.PostgresRestarts + 1)) + TimeSpan.FromSeconds(3), Kill: false)))
            .OrderBy(e => e.At);
        foreach (var (at, kill) in events)
        {
            var wait = start + at - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            if (kill) await KillOneAsync(random, ct);
            else await RestartDatabaseAsync(ct);
        }
        await Task.WhenAll(_restarts);
    }

    private async Task KillOneAsync(Random random, CancellationToken ct)
    {
        ServiceInstance[] ready;
        while ((ready = instances.Where(i => i.IsReady).ToArray()).Length == 0) await Task.Delay(200, ct);
        // Among the instances dialling batches while any is: a kill that interrupts no dial proves little.
        var candidates = new List<(ServiceInstance Instance, IReadOnlyList<long> Dialling)>();
        foreach (var instance in ready)
            candidates.Add((instance, await database.BatchesDialledByAsync(instance.ProcessId!.Value, ct)));
        var busy = candidates.Where(c => c.Dialling.Count > 0).ToList();
        var (victim, dialling) = busy.Count > 0 ? busy[random.Next(busy.Count)] : candidates[random.Next(candidates.Count)];
        await victim.KillAsync();
        var record = new KillRecord(DateTimeOffset.UtcNow, victim.Name, dialling);
        Kills.Add(record);
        progress.WriteLine($"[{record.At:HH:mm:ss}] kill {Kills.Count}/{plan.Kills}: {victim.Name}, dialling batches [{string.Join(", ", dialling)}]");
        _restarts.Add(Task.Run(() => StartAgainAsync(victim, ct), ct));
    }

    // A start may fail while PostgreSQL is restarting (the service stops when it cannot migrate); try again.
    private async Task StartAgainAsync(ServiceInstance instance, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await instance.StartAsync(ct);
                return;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException && attempt < 5)
            {
                progress.WriteLine($"{instance.Name} did not start ({e.Message}); trying again");
                await instance.KillAsync();
                await Task.Delay(1_000, ct);
            }
        }
    }

    private async Task RestartDatabaseAsync(CancellationToken ct)
    {
        var began = DateTimeOffset.UtcNow;
        await restartDatabase!(ct);
        Restarts.Add(new RestartRecord(began, DateTimeOffset.UtcNow));
        progress.WriteLine($"[{began:HH:mm:ss}] PostgreSQL restarted in immediate mode ({(DateTimeOffset.UtcNow - began).TotalSeconds:F1} s)");
    }
}
