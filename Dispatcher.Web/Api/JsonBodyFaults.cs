using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace Dispatcher.Web.Api;

/// <summary>
/// What System.Text.Json found wrong with a request body, in the API's terms: the JSON field as the
/// caller spells it (snake_case, with its index in a list) and what the field allows. The
/// serializer's own messages name .NET types (System.Nullable`1[System.Int32],
/// Dispatcher.Web.Campaigns.CreateBatchRequest), which mean nothing to a caller.
/// </summary>
public static partial class JsonBodyFaults
{
    /// <summary>The key of a fault of the body as a whole (not valid JSON, not an object).</summary>
    public const string Body = "body";

    /// <summary>The faults by field; or, when the body is not JSON at all, the syntax error and where it is.</summary>
    public static (Dictionary<string, string[]> Errors, string? SyntaxError) Describe(JsonException json, JsonSerializerOptions options)
    {
        var message = Unsuffixed(json.Message);
        var field = Field(json.Path);
        if (UnknownMember().Match(message) is { Success: true } unknown)
        {
            var fields = FieldsOf(unknown.Groups["type"].Value, options);
            var name = unknown.Groups["name"].Value;
            return (new() { [Member(json.Path, name)] = [fields is null ? "is not a field of this request" : $"is not a field of this request; the fields are {fields}"] }, null);
        }
        if (MissingMembers().Match(message) is { Success: true } missing)
        {
            var names = missing.Groups["names"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return (names.ToDictionary(n => Member(json.Path, n.Trim('\'', '"')), _ => new[] { "is required" }), null);
        }
        if (NotConvertible().Match(message) is { Success: true } mismatch)
            return (new() { [field] = [$"must be {Expected(FieldType(mismatch.Groups["type"].Value, json.Path, options), options)}"] }, null);
        var syntax = json.LineNumber is { } line ? $"{message} (line {line + 1}, byte {json.BytePositionInLine + 1})" : message;
        return (new() { [Body] = [$"is not valid JSON: {syntax}"] }, syntax);
    }

    /// <summary>"$.contacts[1].phone_number" as the caller wrote it: "contacts[1].phone_number"; the root is "body".</summary>
    public static string Field(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return Body;
        var field = QuotedName().Replace(path, m => "." + m.Groups["name"].Value);
        return field.StartsWith("$.", StringComparison.Ordinal) ? field[2..] : field.TrimStart('$');
    }

    // The serializer's path may or may not already end with the member's name.
    private static string Member(string? path, string name)
    {
        var at = Field(path);
        if (at == Body) return name;
        return at == name || at.EndsWith("." + name, StringComparison.Ordinal) ? at : $"{at}.{name}";
    }

    /// <summary>
    /// The type the field takes. The serializer names it, except for a record's constructor
    /// parameter, where it names the record: then the path's last name is the field.
    /// </summary>
    private static Type? FieldType(string typeName, string? path, JsonSerializerOptions options)
    {
        var type = typeof(JsonBodyFaults).Assembly.GetType(typeName) ?? Type.GetType(typeName);
        if (type is null || path is null || LastName().Match(path) is not { Success: true } last) return type;
        var info = options.GetTypeInfo(type);
        if (info.Kind != JsonTypeInfoKind.Object) return type;
        return info.Properties.FirstOrDefault(p => p.Name == last.Groups["name"].Value)?.PropertyType ?? type;
    }

    /// <summary>What a value of this type looks like in JSON.</summary>
    private static string Expected(Type? type, JsonSerializerOptions options)
    {
        if (type is null) return "a value of another kind";
        type = System.Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int)) return "a whole number up to 2147483647";
        if (type == typeof(long)) return "a whole number";
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime)) return "an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z";
        if (typeof(IDictionary<string, string>).IsAssignableFrom(type)) return "an object of string values, e.g. {\"plan\": \"gold\"}";
        if (ItemType(type) is { } item)
            return FieldsOf(item, options) is { } itemFields ? $"a list of objects with the fields {itemFields}" : $"a list of {Plural(Expected(item, options))}";
        return FieldsOf(type, options) is { } fields ? $"an object with the fields {fields}" : "a value of another kind";
    }

    private static Type? ItemType(Type type) => type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static string Plural(string expected) => expected.StartsWith("a ", StringComparison.Ordinal) ? expected[2..] + "s" : expected;

    /// <summary>The JSON names of a request type's fields, when the type is one of ours.</summary>
    private static string? FieldsOf(string typeName, JsonSerializerOptions options) =>
        typeof(JsonBodyFaults).Assembly.GetType(typeName) is { } type ? FieldsOf(type, options) : null;

    private static string? FieldsOf(Type type, JsonSerializerOptions options)
    {
        if (type.Assembly != typeof(JsonBodyFaults).Assembly) return null;
        var info = options.GetTypeInfo(type);
        return info.Kind != JsonTypeInfoKind.Object || info.Properties.Count == 0 ? null : string.Join(", ", info.Properties.Select(p => p.Name));
    }

    // The serializer appends " Path: $.x | LineNumber: 0 | BytePositionInLine: 12." to its messages; the field and position are reported apart.
    private static string Unsuffixed(string message) => PathSuffix().Replace(message, "").TrimEnd();

    [GeneratedRegex(@"\s*Path: .*$", RegexOptions.Singleline)]
    private static partial Regex PathSuffix();

    [GeneratedRegex(@"^The JSON property '(?<name>.*)' could not be mapped to any \.NET member contained in type '(?<type>[^']+)'")]
    private static partial Regex UnknownMember();

    [GeneratedRegex(@"^JSON deserialization for type '[^']+' was missing required properties[^:]*:\s*(?<names>.+?)\.?$")]
    private static partial Regex MissingMembers();

    [GeneratedRegex(@"^The JSON value could not be converted to (?<type>.+?)\.?$")]
    private static partial Regex NotConvertible();

    // The path's last step when it is a name (".phone_number", "['a b']"), not an index.
    [GeneratedRegex(@"(\.(?<name>[^.\[\]']+)|\['(?<name>[^']*)'\])$")]
    private static partial Regex LastName();

    [GeneratedRegex(@"\['(?<name>[^']*)'\]")]
    private static partial Regex QuotedName();
}
