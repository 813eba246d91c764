using System.Text.RegularExpressions;

namespace Dispatcher.Queue;

public sealed partial class QueueOptions
{
    /// <summary>Schema holding the engine's tables.</summary>
    public string Schema { get; set; } = "dispatcher";

    /// <summary>Queues this instance works, with the number of jobs it runs at once in each. Empty: enqueue only.</summary>
    public Dictionary<string, int> Queues { get; set; } = new() { ["default"] = 10 };

    /// <summary>Most jobs claimed in one statement.</summary>
    public int ClaimBatchSize { get; set; } = 100;

    /// <summary>Wake workers with LISTEN/NOTIFY. Turn off behind transaction-mode poolers (Supabase port 6543, PgBouncer).</summary>
    public bool UseListenNotify { get; set; } = true;

    /// <summary>Fallback poll when no notification arrives (jittered by up to 10 %).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>At most one NOTIFY per queue per cool-down from one instance: NOTIFY serialises commits.</summary>
    public TimeSpan NotifyCooldown { get; set; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A worker silent this long is dead: its running jobs are rescued.</summary>
    public TimeSpan RescueAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a leader's lease lasts without renewal.</summary>
    public TimeSpan LeaderLease { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the leader makes due scheduled and retryable jobs available.</summary>
    public TimeSpan StageInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan RescueInterval { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan KeepCompleted { get; set; } = TimeSpan.FromHours(24);
    /// <summary>Discarded (failed) and cancelled jobs are kept this long.</summary>
    public TimeSpan KeepFailed { get; set; } = TimeSpan.FromDays(7);
    public TimeSpan KeepStats { get; set; } = TimeSpan.FromDays(8);
    public int PruneBatchSize { get; set; } = 5_000;

    /// <summary>Recurring occurrences older than this when found are misfires, handled by each job's policy.</summary>
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>On shutdown, running jobs get this long to finish before they are cancelled and handed back.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Run leader election and maintenance (staging, recurring jobs, rescue, pruning) in this instance.</summary>
    public bool RunMaintenance { get; set; } = true;

    /// <summary>Name of this instance in the workers table; default host:pid:random.</summary>
    public string? WorkerId { get; set; }

    internal string Channel => $"{Schema}_jobs";

    public void Validate()
    {
        if (!SchemaName().IsMatch(Schema))
            throw new ArgumentException($"queue schema '{Schema}' must be a lower-case SQL identifier");
        foreach (var (queue, concurrency) in Queues)
        {
            if (string.IsNullOrWhiteSpace(queue)) throw new ArgumentException("a queue name is empty");
            if (concurrency < 1) throw new ArgumentException($"queue '{queue}' needs a concurrency of at least 1, not {concurrency}");
        }
        if (ClaimBatchSize < 1) throw new ArgumentException("ClaimBatchSize must be at least 1");
        if (RescueAfter <= HeartbeatInterval * 2)
            throw new ArgumentException("RescueAfter must be more than twice HeartbeatInterval, or live workers would be taken for dead");
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
