using System.Text.RegularExpressions;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>E.164: a plus, a country code not starting with 0, 7 to 15 digits in all.</summary>
public static partial class PhoneNumber
{
    public static bool IsE164(string? value) => value is not null && E164().IsMatch(value);

    /// <summary>"****1234": the last 4 digits only.</summary>
    public static string Mask(string phone)
    {
        var digits = new string(phone.Where(char.IsAsciiDigit).ToArray());
        return digits.Length <= 4 ? "****" : "****" + digits[^4..];
    }

    /// <summary>Free text (a provider's error message) with every E.164 number in it masked.</summary>
    public static string MaskAll(string text) => AnyE164().Replace(text, m => Mask(m.Value));

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164();

    [GeneratedRegex(@"\+[1-9][0-9]{6,14}")]
    private static partial Regex AnyE164();
}
