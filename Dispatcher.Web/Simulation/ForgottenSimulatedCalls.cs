using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Web.Simulation;

/// <summary>
/// A restarted simulator has forgotten the calls it was playing, so no call.ended will come for
/// them and their contacts would hold their batches' slots until reconciliation looks them up
/// (RECONCILE_CALLS_AFTER_SECONDS). At start-up, simulated mode only, those calls end at once as
/// reconciliation would end them: system_error, the slot freed and the batch's dial job woken.
/// </summary>
public sealed class ForgottenSimulatedCalls(CallReconciler reconciler, UltravoxEmulation simulator, IHostApplicationLifetime lifetime,
    ILogger<ForgottenSimulatedCalls> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Once the server listens: the dial job this wakes reaches the simulator over HTTP, and a
        // refused connection would leave its dial unknown for UNKNOWN_CALL_GRACE_SECONDS.
        var started = new TaskCompletionSource();
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
            await started.Task;
        try
        {
            var ended = await reconciler.EndForgottenAsync(simulator.Knows, stoppingToken);
            if (ended > 0)
                logger.LogWarning("Simulated telephony: {Count} call(s) left in progress by the previous run are unknown to this simulator; ended as system_error", ended);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not fatal: the reconcile-calls job ends them later.
            logger.LogWarning(ex, "Simulated telephony: calls left in progress by the previous run could not be ended at start-up; reconciliation will end them");
        }
    }
}
