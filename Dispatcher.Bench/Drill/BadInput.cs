namespace Dispatcher.Bench.Drill;

/// <summary>
/// One malformed request: what it tries, and how to build it afresh for the front door's address.
/// The REST API must refuse it with a 4xx application/problem+json; a webhook with a 4xx (the refusal
/// the provider understands); and either way nothing may be written.
/// </summary>
public sealed record BadInput(string Kind, bool IsApi, Func<string, HttpRequestMessage> Build);

/// <summary>How one bad input was answered, and whether the database moved.</summary>
public sealed record BadInputOutcome(BadInput Input, int Status, string? ContentType, bool RowsChanged)
{
    public bool RefusedClean => Status is >= 400 and < 500 && !RowsChanged
        && (!Input.IsApi || ContentType?.StartsWith("application/problem+json", StringComparison.Ordinal) == true);
}
