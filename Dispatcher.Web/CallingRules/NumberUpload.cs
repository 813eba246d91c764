using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using Dispatcher.Jobs.CallingRules;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Dispatcher.Web.CallingRules;

/// <summary>Numbers for the do-not-call list, as JSON (phone_numbers, reason) or a CSV with a number per line.</summary>
public sealed record DoNotCallRequest(List<string?>? PhoneNumbers, string? Reason = null);

/// <summary>An upload of numbers, checked: the valid ones, or what is wrong with it by field or line.</summary>
public sealed record NumberUpload(List<string> Numbers, string? Reason, Dictionary<string, string[]> Faults)
{
    /// <summary>
    /// Reads a JSON body or a CSV body (Content-Type text/csv): one number per line, or a column
    /// named phone_number when the first line names columns.
    /// </summary>
    public static async Task<NumberUpload> ReadAsync(HttpRequest request, IOptions<JsonOptions> json, CancellationToken ct)
    {
        var faults = new Dictionary<string, string[]>();
        if (request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true
            || request.ContentType?.StartsWith("application/csv", StringComparison.OrdinalIgnoreCase) == true)
        {
            var lines = new List<(string, string?)>();
            using var reader = new StreamReader(request.Body);
            using var csv = new CsvParser(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { IgnoreBlankLines = true });
            var column = 0;
            while (await csv.ReadAsync())
            {
                var record = csv.Record!;
                if (csv.Row == 1 && Array.FindIndex(record, c => c.Trim().Equals("phone_number", StringComparison.OrdinalIgnoreCase)) is >= 0 and var named)
                {
                    column = named;
                    continue;
                }
                if (record.All(string.IsNullOrWhiteSpace)) continue;
                lines.Add(($"line {csv.RawRow}", column < record.Length ? record[column] : null));
            }
            var (numbers, invalid) = DoNotCallList.Check(lines);
            if (lines.Count == 0) invalid["body"] = ["has no phone numbers: one per line, or a phone_number column"];
            return new NumberUpload(numbers, request.Query["reason"].FirstOrDefault(), invalid);
        }
        DoNotCallRequest? body;
        try { body = await JsonSerializer.DeserializeAsync<DoNotCallRequest>(request.Body, json.Value.SerializerOptions, ct); }
        catch (JsonException ex)
        {
            faults[ex.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body"] = [$"is not valid JSON here: {ex.Message.Split(" Path:")[0]}"];
            return new NumberUpload([], null, faults);
        }
        if (body?.PhoneNumbers is not { Count: > 0 } given)
        {
            faults["phone_numbers"] = ["is required: a list of E.164 numbers"];
            return new NumberUpload([], null, faults);
        }
        var (valid, wrong) = DoNotCallList.Check(given.Select((n, i) => ($"phone_numbers[{i}]", n)));
        if (body.Reason is { Length: > 500 }) wrong["reason"] = ["is longer than 500 characters"];
        return new NumberUpload(valid, body.Reason?.Trim(), wrong);
    }
}
