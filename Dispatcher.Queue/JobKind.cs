using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Queue;

/// <summary>Defaults for every job of one kind; enqueue options override queue, priority and attempts.</summary>
public sealed record JobKindOptions
{
    public string Queue { get; set; } = "default";
    public short Priority { get; set; }
    /// <summary>Hangfire's AutomaticRetry default.</summary>
    public int MaxAttempts { get; set; } = 10;
    public RetryPolicy Retry { get; set; } = RetryPolicy.Hangfire;
    /// <summary>An attempt running longer is cancelled and counts as failed. Null: no limit.</summary>
    public TimeSpan? Timeout { get; set; }
}

/// <summary>
/// A registered kind: the stable name stored with each job, its args type and handler.
/// Stored jobs refer to the name only, so renaming C# types never breaks them.
/// </summary>
public sealed class JobKind
{
    internal delegate Task<JobResult> Invoker(IServiceProvider services, ClaimedJob job, JsonSerializerOptions json, CancellationToken ct);

    private JobKind(string name, Type argsType, JobKindOptions options, Invoker invoke)
    {
        Name = name;
        ArgsType = argsType;
        Options = options;
        Invoke = invoke;
    }

    public string Name { get; }
    public Type ArgsType { get; }
    public JobKindOptions Options { get; }
    internal Invoker Invoke { get; }

    internal static JobKind Create<TArgs, THandler>(string name, JobKindOptions options)
        where TArgs : notnull
        where THandler : IJobHandler<TArgs>
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("a job kind needs a name", nameof(name));
        return new JobKind(name, typeof(TArgs), options, (services, job, json, ct) =>
        {
            var args = JsonSerializer.Deserialize<TArgs>(job.ArgsJson, json)
                ?? throw new JsonException($"job {job.Id} of kind '{name}' has null args");
            var handler = services.GetRequiredService<THandler>();
            var context = new JobContext<TArgs>(job.Id, job.Kind, job.Queue, args, job.Attempt, job.MaxAttempts, job.Tags, job.CreatedAt);
            return handler.RunAsync(context, ct);
        });
    }
}

/// <summary>All kinds this instance knows, by name and by args type.</summary>
public sealed class JobKindRegistry
{
    private readonly Dictionary<string, JobKind> _byName;
    private readonly Dictionary<Type, JobKind> _byArgs;

    public JobKindRegistry(IEnumerable<JobKind> kinds)
    {
        _byName = new(StringComparer.Ordinal);
        _byArgs = new();
        foreach (var kind in kinds)
        {
            if (!_byName.TryAdd(kind.Name, kind))
                throw new InvalidOperationException($"job kind '{kind.Name}' is registered twice");
            if (!_byArgs.TryAdd(kind.ArgsType, kind))
                throw new InvalidOperationException($"args type {kind.ArgsType.Name} is used by two job kinds");
        }
    }

    public IReadOnlyCollection<JobKind> All => _byName.Values;

    public JobKind? Find(string name) => _byName.GetValueOrDefault(name);

    public JobKind ForArgs(Type argsType) => _byArgs.GetValueOrDefault(argsType)
        ?? throw new InvalidOperationException($"no job kind is registered for args type {argsType.Name}; call AddJob<{argsType.Name}, THandler>(name)");
}
