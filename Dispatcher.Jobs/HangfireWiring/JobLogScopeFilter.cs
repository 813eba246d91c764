using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>Every log line written while a Hangfire job runs carries its JobId and JobType.</summary>
public sealed class JobLogScopeFilter(ILogger<JobLogScopeFilter> logger) : IServerFilter
{
    private const string ScopeKey = "dispatcher.log-scope";

    public void OnPerforming(PerformingContext context) =>
        context.Items[ScopeKey] = logger.BeginScope(new LogScope(new("JobId", context.BackgroundJob.Id),
            new("JobType", context.BackgroundJob.Job.Type.Name)));

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ScopeKey, out var scope)) (scope as IDisposable)?.Dispose();
    }
}
