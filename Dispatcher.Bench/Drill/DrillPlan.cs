namespace Dispatcher.Bench.Drill;

/// <summary>
/// What one fault drill does: the work (batches of contacts, a stream of signups) and the faults
/// spread over <paramref name="Duration"/>, then at least <paramref name="BadInputs"/> malformed requests.
/// </summary>
public sealed record DrillPlan(
    TimeSpan Duration,
    int Batches,
    int ContactsPerBatch,
    int Kills,
    int PostgresRestarts,
    int SignupsPerMinute,
    int BadInputs,
    TimeSpan SettleTimeout,
    int Seed = 13)
{
    /// <summary>The drill: 20 batches x 200 contacts, 20 kills, 2 database restarts.</summary>
    public static DrillPlan Full(int minutes) =>
        new(TimeSpan.FromMinutes(minutes), 20, 200, 20, 2, 60, 240, TimeSpan.FromMinutes(4));

    /// <summary>The 2-minute version the tests run: the same faults, fewer of them, on less work.</summary>
    public static DrillPlan Short() =>
        new(TimeSpan.FromMinutes(2), 6, 40, 4, 1, 30, 200, TimeSpan.FromMinutes(2));

    /// <summary>
    /// Calls per minute of batch <paramref name="index"/>: mixed, all fast enough to finish their
    /// contacts within about 60 % of the duration.
    /// </summary>
    public int CallsPerMinute(int index)
    {
        var floor = (int)Math.Ceiling(ContactsPerBatch / (0.6 * Duration.TotalMinutes));
        return floor * (index % 3 + 2) / 2; // 1x, 1.5x, 2x
    }

    public int MaxConcurrent(int index) => (index % 4) switch { 0 => 3, 1 => 5, 2 => 8, _ => 12 };

    /// <summary>Every third batch allows a second attempt.</summary>
    public int MaxAttempts(int index) => index % 3 == 2 ? 2 : 1;
}
