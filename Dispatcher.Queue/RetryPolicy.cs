namespace Dispatcher.Queue;

/// <summary>How long a job waits before its next attempt, given the attempt that just failed (1-based).</summary>
public abstract record RetryPolicy
{
    public abstract TimeSpan DelayAfter(int attempt, Random random);

    /// <summary>Hangfire's AutomaticRetry curve: (attempt-1)^4 + 15 + random(0..29) * attempt seconds.</summary>
    public static RetryPolicy Hangfire { get; } = new HangfireRetry();

    /// <summary>base * 2^(attempt-1), capped, with +/- jitter (a fraction of the delay).</summary>
    public static RetryPolicy Exponential(TimeSpan initial, TimeSpan? max = null, double jitter = 0.1) =>
        new ExponentialRetry(initial, max ?? TimeSpan.FromHours(1), jitter);

    /// <summary>The same delay every time: handy in tests and for polling-style jobs.</summary>
    public static RetryPolicy Fixed(TimeSpan delay) => new FixedRetry(delay);

    private sealed record HangfireRetry : RetryPolicy
    {
        public override TimeSpan DelayAfter(int attempt, Random random) =>
            TimeSpan.FromSeconds(Math.Pow(attempt - 1, 4) + 15 + random.Next(30) * attempt);
    }

    private sealed record ExponentialRetry(TimeSpan Initial, TimeSpan Max, double Jitter) : RetryPolicy
    {
        public override TimeSpan DelayAfter(int attempt, Random random)
        {
            var seconds = Math.Min(Initial.TotalSeconds * Math.Pow(2, attempt - 1), Max.TotalSeconds);
            var factor = 1 + Jitter * (random.NextDouble() * 2 - 1);
            return TimeSpan.FromSeconds(seconds * factor);
        }
    }

    private sealed record FixedRetry(TimeSpan Delay) : RetryPolicy
    {
        public override TimeSpan DelayAfter(int attempt, Random random) => Delay;
    }
}
