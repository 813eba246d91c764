using System.Diagnostics;
using Dispatcher.Queue;
using Dispatcher.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatcher.Tests.Queue;

/// <summary>A worker in a real child process, killed with SIGKILL in the middle of a job.</summary>
public sealed class CrashTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private readonly RunLog _log = new();

    [Fact]
    public async Task A_job_of_a_killed_worker_is_rescued_and_completes_once_elsewhere()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        // Enqueue-only instance first, so nothing here competes with the child for the job.
        await using var enqueuer = await StartAsync(cs, o => { o.Queues = new(); o.RunMaintenance = false; });
        using var child = StartChildWorker(cs, queue: "crash");
        var childWorkerId = await ReadyLineAsync(child);

        var job = (await enqueuer.Client.EnqueueAsync(new WaitArgs(600_000), new EnqueueOptions { Queue = "crash" })).JobId;
        await Eventually.That(async () => await RunningBy(cs, job) == childWorkerId, "the child running the job");

        child.Kill(); // SIGKILL: no shutdown, no hand-back
        await child.WaitForExitAsync();
        Assert.Equal(childWorkerId, await RunningBy(cs, job));

        await using var survivor = await StartAsync(cs, o => o.Queues = new() { ["crash"] = 1 });
        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed, TimeSpan.FromSeconds(30)));

        var run = Assert.Single(_log.Runs);
        Assert.Equal(2, run.Attempt);
        Assert.Equal("WorkerLost", Assert.Single(await OutcomeTests.ErrorsOf(cs, job)).Type);
    }

    [Fact]
    public async Task SIGTERM_lets_the_worker_hand_its_unfinished_job_back_without_spending_an_attempt()
    {
        var cs = await db.CreateExtraDatabaseAsync();
        await using var enqueuer = await StartAsync(cs, o => { o.Queues = new(); o.RunMaintenance = false; });
        using var child = StartChildWorker(cs, queue: "crash", "--shutdown-ms", "300");
        var childWorkerId = await ReadyLineAsync(child);
        var job = (await enqueuer.Client.EnqueueAsync(new WaitArgs(600_000), new EnqueueOptions { Queue = "crash", MaxAttempts = 1 })).JobId;
        await Eventually.That(async () => await RunningBy(cs, job) == childWorkerId, "the child running the job");

        using (var term = Process.Start("kill", ["-TERM", child.Id.ToString()])) await term.WaitForExitAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, child.ExitCode);
        Assert.Equal(JobState.Available, await EnqueueTests.StateOf(cs, job, JobState.Available, TimeSpan.Zero));
        await using var survivor = await StartAsync(cs, o => o.Queues = new() { ["crash"] = 1 });
        Assert.Equal(JobState.Completed, await EnqueueTests.StateOf(cs, job, JobState.Completed));
        Assert.Equal(1, Assert.Single(_log.Runs).Attempt); // the handed-back attempt was not spent
    }

    private Task<EngineInstance> StartAsync(string cs, Action<QueueOptions> configure) =>
        EngineInstance.StartAsync(cs, s =>
        {
            s.AddSingleton(_log);
            // The child's "sleep" kind takes {"milliseconds": n}; here the same stored name runs a quick handler.
            s.AddJob<WaitArgs, QuickWaitHandler>("sleep");
        }, configure);

    private static Process StartChildWorker(string cs, string queue, params string[] extra)
    {
        var start = SiblingProgram.For("Dispatcher.Bench",
            "worker", "--database-url", cs, "--queue", queue, "--concurrency", "1", "--heartbeat-ms", "300", "--lease-ms", "2000");
        foreach (var arg in extra) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    private static async Task<string> ReadyLineAsync(Process child)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            if (line.StartsWith("ready ", StringComparison.Ordinal)) return line["ready ".Length..];
        throw new InvalidOperationException($"the child worker exited: {await child.StandardError.ReadToEndAsync()}");
    }

    private static async Task<string?> RunningBy(string cs, long job)
    {
        await using var dataSource = NpgsqlDataSource.Create(cs);
        await using var command = dataSource.CreateCommand("SELECT attempted_by FROM dispatcher.jobs WHERE id = $1 AND state = 'running'");
        command.Parameters.Add(new NpgsqlParameter { Value = job });
        return await command.ExecuteScalarAsync() as string;
    }
}

public sealed class QuickWaitHandler(RunLog log, TimeProvider clock) : IJobHandler<WaitArgs>
{
    public Task<JobResult> RunAsync(JobContext<WaitArgs> job, CancellationToken ct)
    {
        log.Record(job.Id, job.Attempt, clock.GetUtcNow());
        return Task.FromResult(JobResult.Completed);
    }
}
