using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// Signups announced by the outbound_call_jobs trigger's NOTIFY (heard by the DatabaseListener) get
/// their call job at once, by dispatch passes in this process: this is what keeps a Supabase signup
/// fast. Rows missed here are onboarding-dispatch's.
/// </summary>
public sealed class OnboardingAnnouncements(OnboardingDispatcher dispatcher, OnboardingOptions options, TimeProvider clock,
    ILogger<OnboardingAnnouncements> logger) : BackgroundService
{
    private const int ConcurrentPasses = 2;
    private readonly SemaphoreSlim _announced = new(0, 1);

    /// <summary>Called on the listen connection's thread; never waits.</summary>
    public void Announce()
    {
        if (_announced.CurrentCount > 0) return;
        try { _announced.Release(); }
        catch (SemaphoreFullException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _announced.WaitAsync(stoppingToken);
                // Passes take disjoint rows (SKIP LOCKED): two at once keep up with a burst of signups.
                await Task.WhenAll(Enumerable.Range(0, ConcurrentPasses).Select(async _ =>
                {
                    while (await dispatcher.PassAsync(stoppingToken) == options.DispatchLimit) { }
                }));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Onboarding dispatch pass failed; onboarding-dispatch will pick the rows up");
                try { await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
    }
}
