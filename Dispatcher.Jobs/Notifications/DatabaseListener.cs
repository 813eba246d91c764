using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Jobs.Notifications;

/// <summary>
/// One LISTEN connection per instance for every <see cref="ChannelSubscription"/>. A dropped
/// connection is re-opened with backoff, and each subscriber is told afterwards (empty payload).
/// </summary>
public sealed class DatabaseListener(NpgsqlDataSource dataSource, IEnumerable<ChannelSubscription> subscriptions, TimeProvider clock,
    ILogger<DatabaseListener> logger) : BackgroundService
{
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, ChannelSubscription> _subscriptions = subscriptions.ToDictionary(s => s.Channel);

    /// <summary>Set once the listen connection is up; reset while reconnecting.</summary>
    public bool IsListening { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (_subscriptions.Count == 0) return;
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand(string.Join("; ", _subscriptions.Keys.Select(c => $"LISTEN \"{c}\"")), connection))
                    await listen.ExecuteNonQueryAsync(ct);
                IsListening = true;
                backoff = TimeSpan.FromMilliseconds(200);
                foreach (var subscription in _subscriptions.Values) subscription.Notify("");
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
        if (_subscriptions.TryGetValue(e.Channel, out var subscription)) subscription.Notify(e.Payload);
    }
}
