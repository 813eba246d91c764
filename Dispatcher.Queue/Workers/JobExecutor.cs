using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Queue.Workers;

/// <summary>Runs one claimed attempt outside any transaction and turns how it ended into an outcome.</summary>
internal sealed class JobExecutor(IServiceScopeFactory scopes, JobKindRegistry kinds, RunningJobs running, TimeProvider clock,
    JsonSerializerOptions json, ILogger<JobExecutor> logger)
{
    private readonly Random _jitter = new();

    public async Task<JobOutcome> ExecuteAsync(ClaimedJob job, CancellationToken shutdown)
    {
        var kind = kinds.Find(job.Kind);
        if (kind is null)
            return Failed(job, RetryPolicy.Hangfire, "UnknownKind", $"no handler is registered for job kind '{job.Kind}' in this instance", null);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        using var timeout = kind.Options.Timeout is { } limit ? new CancellationTokenSource(limit, clock) : null;
        using var timeoutLink = timeout?.Token.Register(cancel.Cancel);
        running.Add(job.Id, cancel);
        // Every line a handler logs carries the job it belongs to (the per-job correlation id of the JSON logs).
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = job.Id, ["JobKind"] = job.Kind, ["Attempt"] = job.Attempt });
        try
        {
            await using var services = scopes.CreateAsyncScope();
            var result = await kind.Invoke(services.ServiceProvider, job, json, cancel.Token);
            return result switch
            {
                JobResult.SnoozeResult snooze => new JobOutcome(job.Id, JobState.Scheduled,
                    ScheduledAt: snooze.At ?? clock.GetUtcNow() + snooze.Delay!.Value, RefundAttempt: true),
                JobResult.CancelResult cancelled => new JobOutcome(job.Id, JobState.Cancelled,
                    ErrorJson: ErrorJson(job, "Cancelled", cancelled.Reason, null), FinalizedAt: clock.GetUtcNow()),
                _ => new JobOutcome(job.Id, JobState.Completed, FinalizedAt: clock.GetUtcNow()),
            };
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            // Stopped by shutdown, not by its own fault: another worker runs it again, attempt not spent.
            return new JobOutcome(job.Id, JobState.Available, RefundAttempt: true);
        }
        catch (OperationCanceledException ex) when (timeout?.IsCancellationRequested == true)
        {
            return Failed(job, kind.Options.Retry, "Timeout", $"attempt timed out after {kind.Options.Timeout}", ex.StackTrace);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // An operator cancelled it; the row already says so, this outcome only closes the loop.
            return new JobOutcome(job.Id, JobState.Cancelled, FinalizedAt: clock.GetUtcNow());
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Job {JobId} ({Kind}) failed attempt {Attempt} of {MaxAttempts}", job.Id, job.Kind, job.Attempt, job.MaxAttempts);
            return Failed(job, kind.Options.Retry, ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex.ToString());
        }
        finally
        {
            running.Remove(job.Id);
        }
    }

    private JobOutcome Failed(ClaimedJob job, RetryPolicy retry, string type, string message, string? stack)
    {
        var now = clock.GetUtcNow();
        var error = ErrorJson(job, type, message, stack);
        if (job.Attempt >= job.MaxAttempts)
            return new JobOutcome(job.Id, JobState.Discarded, ErrorJson: error, FinalizedAt: now);
        TimeSpan delay;
        lock (_jitter) delay = retry.DelayAfter(job.Attempt, _jitter);
        return new JobOutcome(job.Id, JobState.Retryable, ScheduledAt: now + delay, ErrorJson: error);
    }

    private string ErrorJson(ClaimedJob job, string type, string message, string? stack) =>
        JsonSerializer.Serialize(new JobError(job.Attempt, clock.GetUtcNow(), type, message, stack), json);
}
