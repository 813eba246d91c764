using System.Collections.Concurrent;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Wakes a batch's dial job that waits in-process for a slot: at once in this instance, through
/// NOTIFY <see cref="Channel"/> in the others (each hears it on its DatabaseListener).
/// </summary>
public sealed class BatchWakeups(NpgsqlDataSource dataSource)
{
    public const string Channel = "batch_wake";

    private readonly ConcurrentDictionary<long, SemaphoreSlim> _waiting = new();

    /// <summary>The dial job of <paramref name="batchId"/> runs in this instance until the registration is disposed.</summary>
    public Registration Register(long batchId)
    {
        var signal = new SemaphoreSlim(0, 1);
        _waiting[batchId] = signal;
        return new Registration(this, batchId, signal);
    }

    /// <summary>False when no dial job of the batch runs in this instance.</summary>
    public bool WakeLocal(long batchId)
    {
        if (!_waiting.TryGetValue(batchId, out var signal)) return false;
        try { if (signal.CurrentCount == 0) signal.Release(); }
        catch (SemaphoreFullException) { }
        return true;
    }

    /// <summary>Wakes the batch's dial job wherever it runs.</summary>
    public async Task WakeAsync(long batchId, CancellationToken ct)
    {
        if (WakeLocal(batchId)) return;
        await using var command = dataSource.CreateCommand("SELECT pg_notify($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = Channel });
        command.Parameters.Add(new NpgsqlParameter { Value = batchId.ToString() });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A NOTIFY from another instance; an empty payload (after a reconnect) wakes every waiting job.</summary>
    public void Heard(string payload)
    {
        if (long.TryParse(payload, out var batchId)) WakeLocal(batchId);
        else foreach (var id in _waiting.Keys) WakeLocal(id);
    }

    public sealed class Registration(BatchWakeups owner, long batchId, SemaphoreSlim signal) : IDisposable
    {
        /// <summary>Until woken or <paramref name="timeout"/> has passed (never less).</summary>
        /// <remarks>
        /// The semaphore's timer truncates to whole milliseconds on a coarse clock, so it could end a
        /// wait for a pace slot a moment early: the reservation that followed found the slot not yet
        /// reached and had to wait and ask again (a tenth of all reservations in the dispatch benchmark).
        /// </remarks>
        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) =>
            timeout <= TimeSpan.Zero ? Task.FromResult(false) : signal.WaitAsync(TimeSpan.FromMilliseconds(Math.Ceiling(timeout.TotalMilliseconds) + 1), ct);

        public void Dispose() => owner._waiting.TryRemove(new KeyValuePair<long, SemaphoreSlim>(batchId, signal));
    }
}
