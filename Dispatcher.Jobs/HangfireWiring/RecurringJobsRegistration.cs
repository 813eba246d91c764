using System.Data.Common;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>A recurring job the service declares: registered (or updated) under its stable id at every start.</summary>
public sealed record RecurringJobDeclaration(string Id, string Cron, Action<IRecurringJobManager, string, RecurringJobOptions> Register);

/// <summary>
/// Registers every declared recurring job at start-up; Hangfire runs each occurrence once across
/// instances. A registration the database refuses for now (its lock held, a restart under way) is
/// tried again in the background instead of failing the start: the jobs an earlier start stored
/// keep running meanwhile, and an instance that exits at start-up helps nobody.
/// </summary>
public sealed class RecurringJobsRegistration(IRecurringJobManager manager, IEnumerable<RecurringJobDeclaration> declarations,
    ILogger<RecurringJobsRegistration> logger, TimeProvider clock) : IHostedService, IDisposable
{
    public static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private Task _retrying = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var pending = RegisterAll(declarations);
        if (pending.Count > 0) _retrying = Task.Run(() => RetryAsync(pending, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _retrying.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Dispose();

    // The declarations not registered this time.
    private List<RecurringJobDeclaration> RegisterAll(IEnumerable<RecurringJobDeclaration> toRegister)
    {
        var failed = new List<RecurringJobDeclaration>();
        foreach (var declaration in toRegister)
        {
            try
            {
                declaration.Register(manager, declaration.Cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
            }
            catch (Exception e) when (e is DistributedLockTimeoutException or PostgreSqlDistributedLockException or DbException)
            {
                logger.LogWarning("Recurring job {RecurringJobId} not registered yet ({Reason}); trying again in {Seconds} s",
                    declaration.Id, e.Message, RetryPause.TotalSeconds);
                failed.Add(declaration);
            }
        }
        return failed;
    }

    private async Task RetryAsync(List<RecurringJobDeclaration> pending, CancellationToken ct)
    {
        while (pending.Count > 0)
        {
            try { await Task.Delay(RetryPause, clock, ct); }
            catch (OperationCanceledException) { return; }
            pending = RegisterAll(pending);
        }
    }
}
