namespace Dispatcher.Web.Api;

/// <summary>The API's error answers, all application/problem+json.</summary>
public static class ApiProblems
{
    public static IResult NotFound(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static IResult Conflict(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static IResult BadRequest(string title, string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: title);

    /// <summary>400 with the faults by field (or by CSV line), as ASP.NET Core's validation problems are.</summary>
    public static IResult Invalid(string title, IDictionary<string, string[]> errors, string? detail = null, IDictionary<string, object?>? extensions = null) =>
        Results.ValidationProblem(errors, detail, title: title, extensions: extensions);

    /// <summary>Collects per-field faults; <see cref="Any"/> tells whether to answer with them.</summary>
    public sealed class Faults
    {
        private readonly Dictionary<string, List<string>> _faults = [];

        public bool Any => _faults.Count > 0;

        public void Add(string field, string message)
        {
            if (!_faults.TryGetValue(field, out var list)) _faults[field] = list = [];
            list.Add(message);
        }

        /// <summary>The value, or a fault "is required" when it is missing.</summary>
        public T Require<T>(string field, T? value) where T : struct
        {
            if (value is null) Add(field, "is required");
            return value.GetValueOrDefault();
        }

        public string Require(string field, string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) Add(field, "is required");
            return value?.Trim() ?? "";
        }

        public Dictionary<string, string[]> ToDictionary() => _faults.ToDictionary(f => f.Key, f => f.Value.ToArray());
    }
}
