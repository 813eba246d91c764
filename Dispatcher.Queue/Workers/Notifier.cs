using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue.Workers;

/// <summary>
/// Holds one LISTEN connection: queue notifications wake the local producer, cancel
/// notifications stop a running job. A dropped connection is re-opened with backoff, and every
/// producer is woken afterwards in case a notification was missed meanwhile.
/// </summary>
internal sealed class Notifier(NpgsqlDataSource dataSource, QueueOptions options, QueueWakeups wakeups, RunningJobs running,
    IEnumerable<ChannelListener> listeners, TimeProvider clock, ILogger<Notifier> logger)
{
    private readonly Dictionary<string, ChannelListener> _listeners = listeners.ToDictionary(l => l.Channel);

    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(30);

    public string CancelChannel => $"{options.Schema}_cancel";

    /// <summary>Set once the listen connection is up; reset while reconnecting.</summary>
    public bool IsListening { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                connection.Notification += OnNotification;
                var channels = new[] { options.Channel, CancelChannel }.Concat(_listeners.Keys);
                await using (var listen = new NpgsqlCommand(string.Join("; ", channels.Select(c => $"LISTEN \"{c}\"")), connection))
                    await listen.ExecuteNonQueryAsync(ct);
                // Whatever was announced while we were not listening is picked up now.
                foreach (var listener in _listeners.Values) listener.Notify("");
                IsListening = true;
                backoff = TimeSpan.FromMilliseconds(200);
                wakeups.WakeAll();
                while (!ct.IsCancellationRequested)
                {
                    // A silent wait would never notice a half-open connection: ping now and then.
                    if (!await connection.WaitAsync(PingEvery, ct))
                        await using (var ping = new NpgsqlCommand("SELECT 1", connection))
                            await ping.ExecuteScalarAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                IsListening = false;
                logger.LogWarning(ex, "Listen connection lost; reconnecting in {Delay}", backoff);
                try { await Task.Delay(backoff, clock, ct); }
                catch (OperationCanceledException) { break; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
        IsListening = false;
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Channel == options.Channel) wakeups.Wake(e.Payload);
        else if (e.Channel == CancelChannel && long.TryParse(e.Payload, out var jobId)) running.Cancel(jobId);
        else if (_listeners.TryGetValue(e.Channel, out var listener)) listener.Notify(e.Payload);
    }
}
