namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>How this instance runs Hangfire: its storage schema, its servers' workers and how often idle ones look for work.</summary>
public sealed record HangfireSettings
{
    public const string CampaignsQueue = "campaigns";
    public const string OnboardingQueue = "onboarding";
    public const string DefaultQueue = "default";

    /// <summary>Hangfire's tables live in their own schema, apart from the domain's.</summary>
    public string Schema { get; init; } = "hangfire";

    /// <summary>Workers of the campaigns server [CAMPAIGN_WORKERS]: each dialling batch holds one while its slice runs.</summary>
    public int CampaignWorkers { get; init; } = 200;

    /// <summary>Workers of the onboarding queue [ONBOARDING_WORKERS].</summary>
    public int OnboardingWorkers { get; init; } = 10;

    /// <summary>Workers of the default queue (the recurring jobs' fan-out, failed-call requeues).</summary>
    public int DefaultWorkers { get; init; } = 2;

    /// <summary>
    /// How often an idle onboarding/default worker asks for work from another instance's enqueue
    /// (an enqueue in this process wakes its workers at once). Each poll costs 4 statements.
    /// </summary>
    public TimeSpan QueuePollInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The same for the campaigns server, whose many workers would otherwise cost an idle database
    /// most of its statements: batches are handed on within the process that runs them.
    /// </summary>
    public TimeSpan CampaignQueuePollInterval { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// A job of the main server (onboarding calls, recurring jobs) whose performance stopped keeping
    /// its fetch alive this long ago is fetched again by another worker: its process died. The
    /// keep-alive slides, so a long performance is not taken for dead; this bounds how long a
    /// SIGKILL holds up an onboarding call.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The same for dial jobs, without keep-alive: a dial job not finished after this long is
    /// fetched again, and its lease on the batch makes such a second run stand down. A batch whose
    /// dial job died is taken on sooner by campaign-tick, once its lease runs out.
    /// </summary>
    public TimeSpan CampaignInvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A Hangfire lock row (hangfire.lock) older than this is taken for its holder's leftover and
    /// removed. Its holders keep it for moments; a process killed holding one (or a lock whose
    /// release a database restart cut off) left it behind, and Hangfire.PostgreSql's 10-minute
    /// default then stopped every recurring occurrence of that job and every start-up that
    /// registers it (the fault drill).
    /// </summary>
    public TimeSpan DistributedLockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Scheduled jobs and recurring occurrences are looked for this often.</summary>
    public TimeSpan SchedulePollingInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Running jobs get this long to finish on shutdown before their tokens are cancelled.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(17);

    /// <summary>Names this instance's servers (with the machine and process) on Hangfire's Servers page.</summary>
    public string InstanceName { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Most connections the main storage opens (enqueues, schedulers, the onboarding and default workers, the dashboard) [HANGFIRE_MAIN_CONNECTIONS].</summary>
    public int MainConnections { get; init; } = 8;

    /// <summary>Most connections the campaigns server's storage opens (its workers' polls, its jobs' state changes) [HANGFIRE_CAMPAIGN_CONNECTIONS].</summary>
    public int CampaignConnections { get; init; } = 8;
}
