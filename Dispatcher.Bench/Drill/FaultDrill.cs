using System.Globalization;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// The fault drill: three instances of the service as separate processes on one database, in live
/// mode against providers played by this (never killed) process, a front door before them as a
/// load balancer; the work, the faults, then a quiet spell for the bad inputs; then every row checked.
/// </summary>
public static class FaultDrill
{
    public const int InstanceCount = 3;

    public static async Task<DrillReport> RunAsync(DrillPlan plan, DrillEnvironment env, CancellationToken ct)
    {
        var progress = env.Progress;
        Directory.CreateDirectory(env.LogFolder);
        await using var providers = await DrillProviders.StartAsync();
        await using var database = new DrillDatabase(env.ConnectionString);
        var instances = new List<ServiceInstance>();
        await using var door = await FrontDoor.StartAsync(instances);
        providers.Ultravox.WebhookUrl = door.BaseUrl + "/webhooks/ultravox";
        var settings = Settings(env.ConnectionString, providers, door.BaseUrl);
        try
        {
            for (var i = 1; i <= InstanceCount; i++)
                instances.Add(new ServiceInstance($"instance-{i}", env.StartService, settings, Path.Combine(env.LogFolder, $"instance-{i}.log")));
            // The first alone migrates the schema; the others start together after it.
            await instances[0].StartAsync(ct);
            await Task.WhenAll(instances.Skip(1).Select(i => i.StartAsync(ct)));
            progress.WriteLine($"[{DateTimeOffset.UtcNow:HH:mm:ss}] {InstanceCount} instances ready; logs in {env.LogFolder}");

            using var api = new HttpClient { BaseAddress = new Uri(door.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
            api.DefaultRequestHeaders.Add("X-Api-Key", BadInputs.ApiKey);
            var workload = new DrillWorkload(api, plan);
            var batches = await workload.CreateBatchesAsync(ct);
            progress.WriteLine($"[{DateTimeOffset.UtcNow:HH:mm:ss}] {batches.Count} batches of {plan.ContactsPerBatch} created; faults for {plan.Duration.TotalMinutes:F0} min");

            var start = DateTimeOffset.UtcNow;
            using var signupsEnd = CancellationTokenSource.CreateLinkedTokenSource(ct);
            signupsEnd.CancelAfter(plan.Duration);
            var signups = Task.Run(() => workload.StreamSignupsAsync(signupsEnd.Token), ct);
            var faults = new FaultSchedule(plan, instances, database, env.RestartDatabase, progress);
            await faults.RunAsync(start, ct);
            var accepted = await signups;

            providers.Misbehaving = false;
            await WaitUntilSettledAsync(database, accepted, plan.SettleTimeout, progress, ct);

            var inputs = new BadInputs(providers, batches[0], await IdAsync(api, $"/api/batches/{batches[0].Id}", "agency_id", ct),
                await IdAsync(api, $"/api/batches/{batches[0].Id}", "agent_mapping_id", ct),
                await IdAsync(api, $"/api/batches/{batches[^1].Id}", "agent_mapping_id", ct),
                accepted.Count > 0 ? accepted[0].JobId : 1).All();
            using var bare = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            progress.WriteLine($"[{DateTimeOffset.UtcNow:HH:mm:ss}] settled; {inputs.Count} bad inputs");
            var outcomes = await new BadInputProbe(bare, door.BaseUrl, database, progress).RunAsync(inputs, ct);
            progress.WriteLine($"[{DateTimeOffset.UtcNow:HH:mm:ss}] bad inputs sent; checking every row");

            var evidence = new DrillEvidence(batches, accepted, await database.ContactsAsync(ct), await database.SignupsAsync(ct),
                faults.Kills, faults.Restarts, await database.FailedJobsByReasonAsync(ct), outcomes);
            DrillVerdict.Explain(evidence, providers, progress);
            return DrillVerdict.Judge(evidence, providers);
        }
        finally
        {
            foreach (var instance in instances) await instance.DisposeAsync();
        }
    }

    /// <summary>Live mode against the drill's providers; timers short enough for faults to heal within the drill.</summary>
    private static Dictionary<string, string> Settings(string connectionString, DrillProviders providers, string door) => new()
    {
        ["DATABASE_URL"] = connectionString,
        ["CREDENTIALS_KEY"] = "ZHJpbGwtY3JlZGVudGlhbHMta2V5LTMyLWJ5dGVzISE=", // any 32 bytes: the drill's own
        ["API_KEYS"] = BadInputs.ApiKey,
        ["API_BASE_URL"] = door,
        ["TELEPHONY_MODE"] = "live",
        ["ULTRAVOX_BASE_URL"] = providers.Ultravox.BaseUrl,
        ["ULTRAVOX_WEBHOOK_SECRETS"] = providers.Ultravox.WebhookSecret,
        ["ULTRAVOX_TIMEOUT_SECONDS"] = DrillProviders.ProviderTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        ["TWILIO_BASE_URL"] = providers.Twilio.BaseUrl,
        ["TWILIO_ACCOUNT_SID"] = providers.Twilio.AccountSid,
        ["TWILIO_AUTH_TOKEN"] = providers.Twilio.AuthToken,
        ["TWILIO_PHONE_NUMBER"] = DrillProviders.TwilioNumber,
        ["TWILIO_TIMEOUT_SECONDS"] = DrillProviders.ProviderTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        ["CAMPAIGN_TICK_CRON"] = "*/5 * * * * *",
        ["CAMPAIGN_WORKERS"] = "40",
        ["RECONCILE_CALLS_CRON"] = "*/5 * * * * *",
        ["RECONCILE_CALLS_AFTER_SECONDS"] = "15",
        ["UNKNOWN_CALL_GRACE_SECONDS"] = "10",
        ["UNKNOWN_CALL_RECHECK_SECONDS"] = "1",
        ["ONBOARDING_DISPATCH_CRON"] = "*/5 * * * * *",
        ["ONBOARDING_RETRY_BASE_SECONDS"] = "2",
        ["HANGFIRE_SCHEDULE_POLL_SECONDS"] = "1",
        ["HANGFIRE_QUEUE_POLL_SECONDS"] = "2",
        // An onboarding call whose instance was killed is fetched again this soon after its keep-alive stopped.
        ["HANGFIRE_INVISIBILITY_TIMEOUT_SECONDS"] = "15",
        ["LOG_FORMAT"] = "text",
        ["Logging__LogLevel__Default"] = "Warning",
        ["FORWARDED_HEADERS"] = "false",
        // The drill breaks processes, not the calling rules: it dials at any hour (live mode would keep US daytime).
        ["CALLING_HOURS"] = "daily 00:00-24:00",
    };

    private static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Until every contact and every accepted signup is final and no domain row has changed for
    /// <see cref="QuietFor"/>, or the timeout (then the verdict says what was left).
    /// </summary>
    private static async Task WaitUntilSettledAsync(DrillDatabase database, IReadOnlyList<AcceptedSignup> signups, TimeSpan timeout,
        TextWriter progress, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        var jobs = signups.Select(s => s.JobId).ToHashSet();
        var nextReport = DateTimeOffset.UtcNow;
        while (true)
        {
            var open = (await database.ContactsAsync(ct)).Count(c => !DrillDatabase.FinalContactStates.Contains(c.Status));
            var openSignups = (await database.SignupsAsync(ct)).Count(s => jobs.Contains(s.Id) && !DrillDatabase.FinalSignupStates.Contains(s.Status));
            // Final is not yet still: a late or doubled webhook, a batch's last hand-off, may still
            // write. The bad inputs are judged by whether they change rows, so they wait for quiet.
            if (open == 0 && openSignups == 0 && await database.QuietAsync(QuietFor, ct)) return;
            if (DateTimeOffset.UtcNow > deadline)
            {
                progress.WriteLine(open + openSignups > 0
                    ? $"not settled after {timeout.TotalSeconds:F0} s: {open} contacts and {openSignups} signups not final"
                    : $"not settled after {timeout.TotalSeconds:F0} s: everything final, but rows still change");
                return;
            }
            if (DateTimeOffset.UtcNow >= nextReport)
            {
                progress.WriteLine($"[{DateTimeOffset.UtcNow:HH:mm:ss}] settling: {open} contacts and {openSignups} signups not final yet");
                nextReport = DateTimeOffset.UtcNow.AddSeconds(15);
            }
            await Task.Delay(1_000, ct);
        }
    }

    private static async Task<long> IdAsync(HttpClient api, string path, string field, CancellationToken ct) =>
        System.Text.Json.Nodes.JsonNode.Parse(await api.GetStringAsync(path, ct))![field]!.GetValue<long>();
}
