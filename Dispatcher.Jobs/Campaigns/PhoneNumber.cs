using System.Text.RegularExpressions;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>E.164: a plus, a country code not starting with 0, 7 to 15 digits in all.</summary>
public static partial class PhoneNumber
{
    public static bool IsE164(string? value) => value is not null && E164().IsMatch(value);

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164();
}
