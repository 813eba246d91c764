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

    /// <summary>Concurrency of the "campaigns" queue in this instance.</summary>
    public int Workers { get; set; } = 200;
}
