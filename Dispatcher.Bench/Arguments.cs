namespace Dispatcher.Bench;

/// <summary>"--name value" pairs after the command word.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            if (!e.Current.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{e.Current}'");
            var name = e.Current[2..];
            if (!e.MoveNext()) throw new ArgumentException($"--{name} needs a value");
            _values[name] = e.Current;
        }
    }

    public string? Text(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback)
    {
        if (!_values.TryGetValue(name, out var raw)) return fallback;
        return int.TryParse(raw, out var value) && value > 0 ? value : throw new ArgumentException($"--{name} must be a positive whole number, not '{raw}'");
    }
}
