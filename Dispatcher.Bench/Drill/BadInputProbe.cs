namespace Dispatcher.Bench.Drill;

/// <summary>
/// Sends each bad input through the front door and fingerprints the database before and after it.
/// <paramref name="client"/> adds no headers of its own: each input carries its key, or a wrong one.
/// </summary>
public sealed class BadInputProbe(HttpClient client, string door, DrillDatabase database, TextWriter progress)
{
    public async Task<IReadOnlyList<BadInputOutcome>> RunAsync(IReadOnlyList<BadInput> inputs, CancellationToken ct)
    {
        var outcomes = new List<BadInputOutcome>();
        foreach (var input in inputs)
        {
            var before = await database.FingerprintAsync(ct);
            using var request = input.Build(door);
            using var response = await client.SendAsync(request, ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            var after = await database.FingerprintAsync(ct);
            var outcome = new BadInputOutcome(input, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), after != before);
            if (!outcome.RefusedClean)
                progress.WriteLine($"bad input not refused clean: {input.Kind}: {outcome.Status} {outcome.ContentType}{(outcome.RowsChanged ? ", rows changed" : "")}");
            outcomes.Add(outcome);
        }
        return outcomes;
    }
}
