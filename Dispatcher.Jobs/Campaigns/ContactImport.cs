using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using CsvHelper;
using CsvHelper.Configuration;
using Dispatcher.Jobs.CallingRules;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>A batch's settings, without its contacts (those may stream in from an upload).</summary>
/// <param name="CallingHours">Narrows the agency's calling hours for this batch; null keeps them.</param>
public sealed record BatchSettings(long AgencyId, long AgentMappingId, string Name, int CallsPerMinute, int MaxConcurrent,
    int MaxAttempts = 1, DateTimeOffset? ScheduledFor = null, CallingHours? CallingHours = null);

/// <summary>
/// One contact of an upload and where it came from: a CSV line number, or an index in a JSON list.
/// Invalid ones carry the field at fault and why instead of a contact; valid ones the time zones
/// their calling window is judged in.
/// </summary>
public sealed record ContactLine(long Line, NewContact? Contact, string? Field = null, string? Error = null, string[]? Zones = null)
{
    public static ContactLine Checked(long line, NewContact contact)
    {
        // Parsing the number for its zones is the costly part of a check: once a contact.
        var zones = string.IsNullOrWhiteSpace(contact.PhoneNumber) ? null : ContactZones.Of(contact.PhoneNumber.Trim(), contact.TimeZone?.Trim());
        return ContactRules.Check(contact, zones) is var (field, error) ? new ContactLine(line, null, field, error) : new ContactLine(line, contact, Zones: zones);
    }
}

public sealed record InvalidContact(long Line, string Field, string Message);

/// <summary>What to do with an upload that has invalid contacts.</summary>
public enum InvalidRows { Reject, Skip }

public abstract record ImportResult
{
    /// <summary>The batch exists with <paramref name="Imported"/> contacts; <paramref name="Invalid"/> lists those skipped (at most <see cref="Batches.MaxReportedInvalid"/>).</summary>
    public sealed record Created(long BatchId, int Imported, int Skipped, IReadOnlyList<InvalidContact> Invalid) : ImportResult;

    /// <summary>Nothing was written.</summary>
    public sealed record Rejected(int InvalidCount, IReadOnlyList<InvalidContact> Invalid) : ImportResult;
}

/// <summary>More contacts in one upload than <see cref="Batches.MaxContacts"/>; nothing was written.</summary>
public sealed class TooManyContactsException(int limit) : Exception($"one batch takes at most {limit:N0} contacts; split the list into several batches");

/// <summary>The upload as a whole cannot be read (no header, unknown columns); nothing was written.</summary>
public sealed class ContactFileException(string message) : Exception(message);

/// <summary>What makes a contact dialable and its variables usable in an agent's prompt.</summary>
public static partial class ContactRules
{
    public const int MaxNameLength = 200;
    public const int MaxVariables = 50;
    public const int MaxVariableLength = 1_000;

    public static bool IsVariableName(string name) => VariableName().IsMatch(name);

    /// <summary>The field at fault and why, or null when the contact is fine. <paramref name="zones"/>: its zones (ContactZones.Of), null when none can be told.</summary>
    public static (string Field, string Message)? Check(NewContact contact, string[]? zones)
    {
        if (string.IsNullOrWhiteSpace(contact.PhoneNumber)) return ("phone_number", "is missing");
        if (!PhoneNumber.IsE164(contact.PhoneNumber.Trim()))
            return ("phone_number", $"'{Shorten(contact.PhoneNumber)}' is not in E.164 form, e.g. +14155550123");
        if (contact.TimeZone is { } zone && !ContactZones.IsZone(zone.Trim()))
            return ("time_zone", $"'{Shorten(zone)}' is not an IANA time zone such as America/New_York");
        if (contact.TimeZone is null && zones is null)
            return ("time_zone", "is needed: the number's time zone cannot be told from it; give an IANA zone such as Europe/Paris");
        if (contact.Name is { Length: > MaxNameLength }) return ("name", $"is longer than {MaxNameLength} characters");
        if (contact.Variables is { } variables)
        {
            if (variables.Count > MaxVariables) return ("variables", $"has more than {MaxVariables} entries");
            foreach (var (name, value) in variables)
            {
                if (!IsVariableName(name)) return ("variables", $"'{Shorten(name)}' is not a variable name (letters, digits and _, not starting with a digit, at most 64)");
                if (value is null) return ($"variables.{name}", "is null; give a string");
                if (value.Length > MaxVariableLength) return ($"variables.{name}", $"is longer than {MaxVariableLength} characters");
            }
        }
        return null;
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "...";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex VariableName();
}

/// <summary>
/// Contacts from a CSV stream, one record at a time (CsvHelper): a header line naming the columns,
/// phone_number required, name and time_zone (IANA) optional, every other column a prompt variable of that name.
/// Line numbers are where each record starts in the file (the header is line 1).
/// </summary>
public static class ContactCsv
{
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async IAsyncEnumerable<ContactLine> ReadAsync(Stream csv, [EnumeratorCancellation] CancellationToken ct)
    {
        string? malformed = null;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            IgnoreBlankLines = false, // so that line numbers stay those of the file
            BadDataFound = args => malformed = args.RawRecord,
        };
        // Bytes that are not UTF-8 throw (a DecoderFallbackException, answered 400) instead of becoming U+FFFD in a stored name.
        using var reader = new StreamReader(csv, StrictUtf8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
        using var parser = new CsvParser(reader, config);
        if (!await parser.ReadAsync() || parser.Record is not { } header || header.All(string.IsNullOrWhiteSpace))
            throw new ContactFileException("the CSV is empty: its first line must name the columns, e.g. phone_number,name");
        var columns = header.Select(h => h.Trim()).ToArray();
        var phone = Array.FindIndex(columns, c => c.Equals("phone_number", StringComparison.OrdinalIgnoreCase));
        if (phone < 0) throw new ContactFileException($"the CSV has no phone_number column (its columns: {string.Join(", ", columns)})");
        var name = Array.FindIndex(columns, c => c.Equals("name", StringComparison.OrdinalIgnoreCase));
        var zone = Array.FindIndex(columns, c => c.Equals("time_zone", StringComparison.OrdinalIgnoreCase));
        if (columns.FirstOrDefault(c => c != columns[phone] && c != (name >= 0 ? columns[name] : null) && !ContactRules.IsVariableName(c)) is { } badColumn)
            throw new ContactFileException($"column '{badColumn}' is not a variable name (letters, digits and _, not starting with a digit, at most 64)");
        if (columns.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ContactFileException($"column '{twice.Key}' appears more than once");

        var lastLine = parser.RawRow;
        while (await parser.ReadAsync())
        {
            ct.ThrowIfCancellationRequested();
            var line = lastLine + 1;
            lastLine = parser.RawRow;
            var record = parser.Record!;
            if (malformed is not null)
            {
                malformed = null;
                yield return new ContactLine(line, null, "row", "malformed quoting: a quote inside an unquoted field, or a quoted field never closed");
                continue;
            }
            if (record is [var only] && string.IsNullOrWhiteSpace(only)) continue; // a blank line
            if (record.Length != columns.Length)
            {
                yield return new ContactLine(line, null, "row", $"has {record.Length} fields where the header names {columns.Length} ({string.Join(",", columns)})");
                continue;
            }
            Dictionary<string, string>? variables = null;
            for (var i = 0; i < columns.Length; i++)
            {
                if (i == phone || i == name || i == zone || record[i].Length == 0) continue;
                (variables ??= new Dictionary<string, string>())[columns[i]] = record[i];
            }
            var contactName = name >= 0 && record[name].Trim() is { Length: > 0 } n ? n : null;
            var timeZone = zone >= 0 && record[zone].Trim() is { Length: > 0 } z ? z : null;
            yield return ContactLine.Checked(line, new NewContact(record[phone].Trim(), contactName, variables, timeZone));
        }
    }
}
