using System.Collections;

namespace Dispatcher.Jobs;

/// <summary>
/// A logging scope of named values (JobId, CorrelationId, ...): structured for JSON logs, and
/// "JobId:42, JobType:DialBatchJob" rather than a type name where a formatter prints it as text.
/// </summary>
public sealed class LogScope(params KeyValuePair<string, object>[] values) : IReadOnlyList<KeyValuePair<string, object>>
{
    public KeyValuePair<string, object> this[int index] => values[index];
    public int Count => values.Length;
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object>>)values).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    public override string ToString() => string.Join(", ", values.Select(v => $"{v.Key}:{v.Value}"));
}
