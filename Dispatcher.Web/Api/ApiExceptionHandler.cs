using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using ProblemDetails = Microsoft.AspNetCore.Mvc.ProblemDetails;

namespace Dispatcher.Web.Api;

/// <summary>
/// Requests the framework could not read (malformed JSON, a field of the wrong type or unknown, a
/// query parameter that does not parse, wrong content type, body too large) as problem+json naming
/// the fault: a 400 carries an errors map by field, as the API's own validation problems do.
/// </summary>
public sealed partial class ApiExceptionHandler(IProblemDetailsService problems, IOptions<JsonOptions> json) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = Describe(bad, json.Value.SerializerOptions),
        });
    }

    /// <summary>What was wrong, in the API's terms: the framework's own messages name C# parameters and types.</summary>
    public static ProblemDetails Describe(BadHttpRequestException bad, JsonSerializerOptions options)
    {
        switch (bad.StatusCode)
        {
            case StatusCodes.Status413PayloadTooLarge: return new ProblemDetails { Status = bad.StatusCode, Title = "Request too large", Detail = bad.Message };
            // 415 gets the common advice on what to send (AddApi).
            case StatusCodes.Status415UnsupportedMediaType: return new ProblemDetails { Status = bad.StatusCode, Title = "Unsupported Media Type" };
        }
        if (bad.InnerException is JsonException syntaxOrShape)
        {
            var (errors, syntaxError) = JsonBodyFaults.Describe(syntaxOrShape, options);
            return syntaxError is null
                ? Invalid("Invalid request body", errors, string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join("; ", e.Value)}")))
                : Invalid("Malformed request", errors, $"the body is not valid JSON: {syntaxError}");
        }
        if (MissingBody().IsMatch(bad.Message))
            return Invalid("Malformed request", new() { [JsonBodyFaults.Body] = ["is required: a JSON object"] }, "the request needs a JSON body");
        if (UnboundParameter().Match(bad.Message) is { Success: true } unbound)
        {
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(unbound.Groups["name"].Value);
            var type = unbound.Groups["type"].Value;
            var expected = type.Contains("DateTime", StringComparison.Ordinal) ? "an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z"
                : type.Contains("int", StringComparison.OrdinalIgnoreCase) || type.Contains("long", StringComparison.OrdinalIgnoreCase) ? "a whole number"
                : "a valid value";
            var fault = $"'{unbound.Groups["value"].Value}' is not {expected}";
            return Invalid("Malformed request", new() { [name] = [fault] }, $"{name}: {fault}");
        }
        return new ProblemDetails { Status = bad.StatusCode, Title = "Malformed request", Detail = bad.Message };
    }

    private static HttpValidationProblemDetails Invalid(string title, Dictionary<string, string[]> errors, string detail) =>
        new(errors) { Status = StatusCodes.Status400BadRequest, Title = title, Detail = detail };

    // "Implicit body inferred for parameter "body" but no body was provided...", "Required parameter "T body" was not provided from body."
    [GeneratedRegex("^(Implicit body inferred for parameter .* but no body was provided|Required parameter .* was not provided from body)")]
    private static partial Regex MissingBody();

    // "Failed to bind parameter "Nullable<long> agencyId" from "x"."
    [GeneratedRegex("^Failed to bind parameter \"(?<type>.+) (?<name>\\w+)\" from \"(?<value>.*)\"\\.$")]
    private static partial Regex UnboundParameter();
}
