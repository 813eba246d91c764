namespace Dispatcher.Jobs.Campaigns;

/// <summary>Campaign settings, from environment variables (names in brackets).</summary>
public sealed record CampaignOptions
{
    /// <summary>How often the tick looks for due batches [CAMPAIGN_TICK_CRON]. The seed ran every minute.</summary>
    public string TickCron { get; set; } = "*/30 * * * * *";

    /// <summary>Most batches one tick starts or checks [MAX_BATCHES_PER_RUN]; the rest come next tick, oldest-checked first.</summary>
    public int MaxBatchesPerRun { get; set; } = 500;

    /// <summary>A processing batch whose row has not changed for this long gets its job checked by the tick.</summary>
    public TimeSpan QuietBatchAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Secrets Ultravox signs webhooks with; several during a rotation [ULTRAVOX_WEBHOOK_SECRETS, comma-separated].</summary>
    public IReadOnlyList<string> WebhookSecrets { get; set; } = [];

    /// <summary>Webhooks older (or further in the future) than this are refused.</summary>
    public TimeSpan WebhookMaxAge { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A dial with an unknown outcome whose call cannot be found for this long is given up [UNKNOWN_CALL_GRACE_SECONDS].</summary>
    public TimeSpan UnknownCallGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Between look-ups of an unknown outcome.</summary>
    public TimeSpan UnknownCallRecheck { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Calls in progress longer than this are looked up at Ultravox in case their webhook was lost [RECONCILE_CALLS_AFTER_SECONDS].</summary>
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the reconciliation looks.</summary>
    public string ReconcileCron { get; set; } = "*/5 * * * *";

    /// <summary>How long agency credentials and agent mappings are cached.</summary>
    public TimeSpan DirectoryCacheFor { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Wait when the batch has every slot busy and no call end has woken it.</summary>
    public TimeSpan SlotRecheck { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A dial job renews its claim on its batch at least this often; a batch whose dialer's lease
    /// has passed (its instance was killed) gets a new dial job from the next tick.
    /// </summary>
    public TimeSpan DialerLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A dial job hands its batch on to a new job after this long, so batches take turns on the workers.</summary>
    public TimeSpan SliceLength { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A dial job waits in-process for a slot at most this long; a later slot is a scheduled job instead, holding no worker.</summary>
    public TimeSpan HoldLimit { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A batch whose every slot stays busy this long is left to its call ends, which wake a new job.</summary>
    public TimeSpan FullHold { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A scheduled dial job is due this much before its slot, since Hangfire looks for due jobs
    /// only every few seconds and enqueues them one by one (a thousand batches due together took
    /// its scheduler 3 s on a warm service, 26 s on a cold one); it waits the rest in-process.
    /// Less than HoldLimit, or the job would hand its batch on at once.
    /// </summary>
    public TimeSpan SchedulerLead { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A scheduled batch starts (its contacts queued, a row each) this much before its time, and
    /// dials from its time on: a thousand batches due at once would otherwise spend their first
    /// seconds queueing contacts. Within SchedulerLead, so the dial job that starts it is running.
    /// </summary>
    public TimeSpan StartLead { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>When a batch scheduled for <paramref name="scheduledFor"/> starts (StartLead before it); null for one due when created.</summary>
    public DateTimeOffset? StartOf(DateTimeOffset? scheduledFor) => scheduledFor - StartLead;

    /// <summary>
    /// A dial job enqueued this long ago and still not fetched while campaigns workers are idle was
    /// missed by the engine's wake-up; campaign-tick replaces it.
    /// </summary>
    public TimeSpan StallAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Concurrency of the "campaigns" queue in this instance.</summary>
    public int Workers { get; set; } = 200;
}
