using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>Phone numbers in E.164 form, as libphonenumber judges them.</summary>
public static partial class PhoneNumber
{
    private static readonly PhoneNumberUtil Numbers = PhoneNumberUtil.GetInstance();

    /// <summary>
    /// E.164 as written (a plus, a country code, no spaces) and a possible number for its country
    /// (libphonenumber's length rules). Not "valid" in libphonenumber's stricter sense, which also
    /// refuses ranges not assigned yet and goes stale as they are: the provider says no to those.
    /// </summary>
    public static bool IsE164(string? value)
    {
        if (value is null || !E164().IsMatch(value)) return false;
        try
        {
            var number = Numbers.Parse(value, null);
            return Numbers.IsPossibleNumber(number) && Numbers.Format(number, PhoneNumberFormat.E164) == value;
        }
        catch (NumberParseException)
        {
            return false;
        }
    }

    /// <summary>"****1234": the last 4 digits only.</summary>
    public static string Mask(string phone)
    {
        var digits = new string(phone.Where(char.IsAsciiDigit).ToArray());
        return digits.Length <= 4 ? "****" : "****" + digits[^4..];
    }

    /// <summary>Free text (provider errors, reasons) with every E.164 number in it masked.</summary>
    public static string MaskIn(string text) => E164Anywhere().Replace(text, m => Mask(m.Value));

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164();

    [GeneratedRegex(@"\+[1-9][0-9]{6,14}")]
    private static partial Regex E164Anywhere();
}
