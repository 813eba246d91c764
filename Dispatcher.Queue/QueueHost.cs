using Dispatcher.Queue.Leadership;
using Dispatcher.Queue.Recurring;
using Dispatcher.Queue.Storage;
using Dispatcher.Queue.Workers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatcher.Queue;

/// <summary>
/// One engine instance: migrates, registers as a worker, listens, runs a producer per queue, a
/// completer, the heartbeat and (when elected) the leader's maintenance. Stops gracefully.
/// </summary>
public sealed class QueueHost : IHostedService, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly QueueOptions _options;
    private readonly MigrationRunner _migrations;
    private readonly RecurringJobs _recurring;
    private readonly Heartbeat _heartbeat;
    private readonly Notifier _notifier;
    private readonly Completer _completer;
    private readonly IReadOnlyList<Producer> _producers;
    private readonly LeaderElector _leader;
    private readonly QueueWakeups _wakeups;
    private readonly TimeProvider _clock;
    private readonly ILogger<QueueHost> _logger;
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopJobs = new();
    private readonly CancellationTokenSource _stopBackground = new();
    private readonly CancellationTokenSource _abandonWrites = new();
    private readonly List<Task> _background = [];
    private Task _completing = Task.CompletedTask;
    private Task? _stopping;
    private int _state; // 0 new, 1 started, 2 stopping or stopped

    internal QueueHost(NpgsqlDataSource dataSource, QueueOptions options, MigrationRunner migrations, RecurringJobs recurring,
        Heartbeat heartbeat, Notifier notifier, Completer completer, IReadOnlyList<Producer> producers, LeaderElector leader,
        QueueWakeups wakeups, TimeProvider clock, ILogger<QueueHost> logger, string workerId)
    {
        _dataSource = dataSource;
        _options = options;
        _migrations = migrations;
        _recurring = recurring;
        _heartbeat = heartbeat;
        _notifier = notifier;
        _completer = completer;
        _producers = producers;
        _leader = leader;
        _wakeups = wakeups;
        _clock = clock;
        _logger = logger;
        WorkerId = workerId;
    }

    public string WorkerId { get; }
    public bool IsRunning => Volatile.Read(ref _state) == 1;
    public bool IsLeader => _leader.IsLeader;
    public bool IsListening => _notifier.IsListening;

    public async Task StartAsync(CancellationToken ct)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("the queue host was already started");
        await _migrations.MigrateAsync(ct);
        await _recurring.SyncDeclaredAsync(ct);
        // Registered before the first claim, so the rescuer never takes our jobs for orphans.
        await _heartbeat.BeatAsync(ct);

        _completing = Task.Run(() => _completer.RunAsync(_abandonWrites.Token), CancellationToken.None);
        Background(() => _heartbeat.RunAsync(_stopBackground.Token));
        if (_options.UseListenNotify) Background(() => _notifier.RunAsync(_stopBackground.Token));
        if (_options.RunMaintenance) Background(() => _leader.RunAsync(_stopBackground.Token));
        foreach (var producer in _producers)
            Background(() => producer.RunAsync(_stopClaiming.Token, _stopJobs.Token));
        _logger.LogInformation("Queue worker {WorkerId} started: queues {Queues}, listen/notify {Listen}",
            WorkerId, string.Join(", ", _options.Queues.Select(q => $"{q.Key}={q.Value}")), _options.UseListenNotify);
    }

    /// <summary>
    /// Stop claiming; give running jobs the shutdown timeout to finish; cancel the rest and hand
    /// them back for immediate retry without spending an attempt; flush outcomes; leave.
    /// </summary>
    public Task StopAsync(CancellationToken ct)
    {
        lock (_stopClaiming)
        {
            // The host and the container's disposal may both stop us: the second waits for the first.
            if (Interlocked.CompareExchange(ref _state, 2, 1) == 1) _stopping = StopOnceAsync(ct);
            return _stopping ?? Task.CompletedTask;
        }
    }

    private async Task StopOnceAsync(CancellationToken ct)
    {
        await _stopClaiming.CancelAsync();

        using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
        grace.CancelAfter(_options.ShutdownTimeout);
        try { await Task.WhenAll(_producers.Select(p => p.WhenIdleAsync(grace.Token))); }
        catch (OperationCanceledException) { }

        await _stopJobs.CancelAsync();
        using (var last = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try { await Task.WhenAll(_producers.Select(p => p.WhenIdleAsync(last.Token))); }
            catch (OperationCanceledException) { _logger.LogWarning("Some jobs ignored cancellation; they are handed back while still running"); }
        }

        _completer.Complete();
        _abandonWrites.CancelAfter(TimeSpan.FromSeconds(10));
        try { await _completing; }
        catch (OperationCanceledException) { _logger.LogError("Could not write all job outcomes before stopping; the rescuer will retry those jobs"); }

        await HandBackAsync();
        await _stopBackground.CancelAsync();
        await Task.WhenAll(_background);
        try { await _heartbeat.DeregisterAsync(CancellationToken.None); }
        catch (Exception ex) { _logger.LogWarning(ex, "Could not deregister worker {WorkerId}", WorkerId); }
        _logger.LogInformation("Queue worker {WorkerId} stopped", WorkerId);
    }

    private async Task HandBackAsync()
    {
        try
        {
            await using var command = _dataSource.CreateCommand(new JobSql(_options.Schema).HandBack);
            command.Parameters.Add(new NpgsqlParameter { Value = WorkerId });
            var queues = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
                while (await reader.ReadAsync()) queues.Add(reader.GetString(0));
            if (queues.Count > 0)
            {
                _logger.LogInformation("Handed back {Count} unfinished jobs", queues.Count);
                if (_options.UseListenNotify)
                {
                    await using var notify = _dataSource.CreateCommand(new JobSql(_options.Schema).Notify);
                    notify.Parameters.Add(new NpgsqlParameter { Value = _options.Channel });
                    notify.Parameters.Add(new NpgsqlParameter { Value = queues.Distinct().ToArray() });
                    await notify.ExecuteNonQueryAsync();
                }
            }
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not hand back unfinished jobs; the rescuer will retry them");
        }
    }

    private void Background(Func<Task> run) => _background.Add(Task.Run(run, CancellationToken.None));

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopClaiming.Dispose();
        _stopJobs.Dispose();
        _stopBackground.Dispose();
        _abandonWrites.Dispose();
    }
}
