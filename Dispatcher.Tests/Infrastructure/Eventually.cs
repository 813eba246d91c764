using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Dispatcher.Testing;

/// <summary>
/// Waiting for what another thread, process or service brings about: polls until it holds and
/// fails with a <see cref="TimeoutException"/> that says what was awaited (the condition's own
/// text when not told) or what was seen last.
/// </summary>
public static class Eventually
{
    /// <summary>Generous, for a busy shared machine: only a failing test waits this long.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>Until <paramref name="condition"/> holds.</summary>
    public static Task That(Func<bool> condition, string? what = null, TimeSpan? timeout = null, TimeSpan? every = null,
        [CallerArgumentExpression(nameof(condition))] string expression = "") =>
        That(() => Task.FromResult(condition()), what ?? expression, timeout, every);

    /// <summary>Until <paramref name="condition"/> holds.</summary>
    /// <param name="every">How often to ask; more than the default where asking is costly.</param>
    public static async Task That(Func<Task<bool>> condition, string? what = null, TimeSpan? timeout = null, TimeSpan? every = null,
        [CallerArgumentExpression(nameof(condition))] string expression = "")
    {
        var limit = timeout ?? DefaultTimeout;
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > limit) throw new TimeoutException($"not true within {limit.TotalSeconds:0.#} s: {what ?? expression}");
            await Task.Delay(every ?? Poll);
        }
    }

    /// <summary>
    /// Reads until a reading is <paramref name="done"/> and returns that reading; on timeout the
    /// message is <paramref name="notYet"/> of the last one.
    /// </summary>
    /// <param name="every">How often to read; more than the default where reading is costly.</param>
    public static async Task<T> Reaches<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, Task<string>> notYet, TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var reading = await read();
            if (done(reading)) return reading;
            if (waited.Elapsed > limit) throw new TimeoutException($"{await notYet(reading)} after {limit.TotalSeconds:0.#} s");
            await Task.Delay(every ?? Poll);
        }
    }

    /// <inheritdoc cref="Reaches{T}(Func{Task{T}}, Func{T, bool}, Func{T, Task{string}}, TimeSpan?, TimeSpan?)"/>
    public static Task<T> Reaches<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, string> notYet, TimeSpan? timeout = null, TimeSpan? every = null) =>
        Reaches(read, done, reading => Task.FromResult(notYet(reading)), timeout, every);
}
