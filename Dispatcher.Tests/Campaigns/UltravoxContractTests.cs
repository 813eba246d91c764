using Dispatcher.Testing;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Web.Telephony.Emulation;
using YamlDotNet.RepresentationModel;

namespace Dispatcher.Tests.Campaigns;

/// <summary>
/// Checks what the client sends, and what it and the fake read, against Ultravox's OpenAPI spec.
/// The spec is reference data kept beside the repository (shared/reference), never in it, so
/// these tests are skipped where it is absent.
/// </summary>
public sealed class UltravoxContractTests
{
    private const string AgentCalls = "/api/agents/{agent_id}/calls";

    [SpecFact(UltravoxSpec.FileName)]
    public async Task The_agent_call_body_the_client_sends_uses_only_fields_and_types_of_StartAgentCallRequest()
    {
        var spec = UltravoxSpec.Load();
        var body = await SentBodyAsync();

        var schema = spec.At("paths", AgentCalls, "post", "requestBody", "content", "application/json", "schema");
        Assert.Equal("#/components/schemas/ultravox.v1.StartAgentCallRequest", UltravoxSpec.RefOf(schema));
        Assert.Empty(spec.Violations(body, schema, "body"));

        // The paths the dispatcher relies on must be where the spec puts them, not merely allowed.
        Assert.Equal("string", spec.TypeOf(spec.PropertyAt(schema, "medium", "telnyx", "outgoing", "to")));
        Assert.Equal("string", spec.TypeOf(spec.PropertyAt(schema, "medium", "telnyx", "outgoing", "from")));
        Assert.Equal("object", spec.TypeOf(spec.PropertyAt(schema, "firstSpeakerSettings", "agent")));
        Assert.Equal("object", spec.TypeOf(spec.PropertyAt(schema, "templateContext")));
    }

    [SpecFact(UltravoxSpec.FileName)]
    public void The_schema_check_catches_a_field_the_api_does_not_have_and_a_wrong_type()
    {
        var spec = UltravoxSpec.Load();
        using var body = JsonDocument.Parse("""{"medium":{"telnyx":{"outgoing":{"destinationPhoneNumber":"+15550000001"}}},"metadata":{"attempt":1}}""");

        var violations = spec.Violations(body.RootElement, spec.At("components", "schemas", "ultravox.v1.StartAgentCallRequest"), "body");

        Assert.Equal(2, violations.Count);
        Assert.Contains(violations, v => v.StartsWith("body.medium.telnyx.outgoing.destinationPhoneNumber"));
        Assert.Contains(violations, v => v.StartsWith("body.metadata.attempt"));
    }

    [SpecFact(UltravoxSpec.FileName)]
    public async Task The_metadata_the_client_sends_is_strings_under_unreserved_keys_as_the_spec_requires()
    {
        var spec = UltravoxSpec.Load();
        var body = await SentBodyAsync();

        var metadata = spec.PropertyAt(spec.At("paths", AgentCalls, "post", "requestBody", "content", "application/json", "schema"), "metadata");
        Assert.Equal("string", spec.TypeOf((YamlMappingNode)metadata["additionalProperties"]));
        Assert.Contains("ultravox.", ((YamlScalarNode)metadata["description"]).Value);
        Assert.All(body.GetProperty("metadata").EnumerateObject(), entry =>
        {
            Assert.Equal(JsonValueKind.String, entry.Value.ValueKind);
            Assert.False(entry.Name.StartsWith("ultravox.", StringComparison.Ordinal), entry.Name);
        });
    }

    [SpecFact(UltravoxSpec.FileName)]
    public void The_created_call_and_the_looked_up_call_have_every_field_the_client_reads()
    {
        var spec = UltravoxSpec.Load();

        var created = spec.At("paths", AgentCalls, "post", "responses", "201", "content", "application/json", "schema");
        var fetched = spec.At("paths", "/api/calls/{call_id}", "get", "responses", "200", "content", "application/json", "schema");
        Assert.Equal("#/components/schemas/Call", UltravoxSpec.RefOf(created));
        Assert.Equal(UltravoxSpec.RefOf(created), UltravoxSpec.RefOf(fetched));
        Assert.Equal("string", spec.TypeOf(spec.PropertyAt(created, "callId")));
        foreach (var time in new[] { "created", "joined", "ended" })
            Assert.Equal("date-time", ((YamlScalarNode)spec.PropertyAt(created, time)["format"]).Value);
        Assert.Equal("string", spec.TypeOf((YamlMappingNode)spec.PropertyAt(created, "metadata")["additionalProperties"]));
        var endReasons = spec.EnumOf(spec.PropertyAt(created, "endReason"));
        Assert.Contains("hangup", endReasons);
        Assert.Contains("unjoined", endReasons);
    }

    [SpecFact(UltravoxSpec.FileName)]
    public void Listing_calls_filters_by_metadata_and_pages_with_next_over_results()
    {
        var spec = UltravoxSpec.Load();

        var list = spec.At("paths", "/api/calls", "get");
        Assert.Contains(((YamlSequenceNode)list["parameters"]).Cast<YamlMappingNode>(),
            p => ((YamlScalarNode)p["name"]).Value == "metadata" && ((YamlScalarNode)p["in"]).Value == "query");
        var page = spec.At("paths", "/api/calls", "get", "responses", "200", "content", "application/json", "schema");
        Assert.Equal("string", spec.TypeOf(spec.PropertyAt(page, "next")));
        Assert.Equal("array", spec.TypeOf(spec.PropertyAt(page, "results")));
        Assert.Equal("#/components/schemas/Call", UltravoxSpec.RefOf((YamlMappingNode)spec.PropertyAt(page, "results")["items"]));
    }

    [SpecFact(UltravoxSpec.FileName)]
    public async Task The_fakes_call_json_fits_the_Call_schema()
    {
        var spec = UltravoxSpec.Load();
        await using var fake = await UltravoxEmulation.StartAsync();
        using var client = new UltravoxClient(new UltravoxOptions { BaseUrl = fake.BaseUrl }, TimeProvider.System);
        var created = Assert.IsType<CreateCallOutcome.Created>(await client.StartAgentCallAsync(Request(), CancellationToken.None));

        using var http = new HttpClient();
        using var get = new HttpRequestMessage(HttpMethod.Get, $"{fake.BaseUrl}/api/calls/{created.Call.CallId}");
        get.Headers.Add("X-API-Key", "key");
        using var response = await http.SendAsync(get);
        using var call = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Empty(spec.Violations(call.RootElement, spec.At("components", "schemas", "Call"), "call"));
    }

    private static StartCallRequest Request() => new(
        "key",
        Guid.NewGuid().ToString(),
        "+15550000001",
        "+15559990000",
        new Dictionary<string, string> { ["batch_id"] = "b-1", ["contact_id"] = "c-1" },
        new Dictionary<string, object?> { ["name"] = "Sam", ["company"] = null });

    private static async Task<JsonElement> SentBodyAsync()
    {
        await using var fake = await UltravoxEmulation.StartAsync();
        using var client = new UltravoxClient(new UltravoxOptions { BaseUrl = fake.BaseUrl }, TimeProvider.System);
        Assert.IsType<CreateCallOutcome.Created>(await client.StartAgentCallAsync(Request(), CancellationToken.None));
        using var document = JsonDocument.Parse(fake.Requests.Single().Body);
        return document.RootElement.Clone();
    }
}

/// <summary>Just enough OpenAPI reading for the contract tests: $ref, allOf, properties, additionalProperties, type.</summary>
internal sealed class UltravoxSpec(YamlMappingNode root)
{
    private static readonly Lazy<UltravoxSpec> Loaded = new(() =>
    {
        using var reader = File.OpenText(FindPath() ?? throw new FileNotFoundException("ultravox_openapi.yaml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        return new UltravoxSpec((YamlMappingNode)yaml.Documents[0].RootNode);
    });

    public static UltravoxSpec Load() => Loaded.Value;

    public const string FileName = "ultravox_openapi.yaml";

    public static string? FindPath() => SharedReference.Find(FileName);

    public static string? RefOf(YamlMappingNode schema) =>
        schema.Children.TryGetValue(new YamlScalarNode("$ref"), out var reference) ? ((YamlScalarNode)reference).Value : null;

    public YamlMappingNode At(params string[] path)
    {
        YamlNode node = root;
        foreach (var key in path) node = ((YamlMappingNode)node)[key];
        return (YamlMappingNode)node;
    }

    /// <summary>The schema of a nested property, following $ref and allOf at every step.</summary>
    public YamlMappingNode PropertyAt(YamlMappingNode schema, params string[] names)
    {
        foreach (var name in names)
            schema = PropertiesOf(schema).TryGetValue(name, out var property)
                ? property
                : throw new Xunit.Sdk.XunitException($"The spec has no property '{name}' in {string.Join(".", names)}.");
        return schema;
    }

    public string? TypeOf(YamlMappingNode schema) =>
        Facets(schema).Select(f => f.Children.TryGetValue(new YamlScalarNode("type"), out var type) ? ((YamlScalarNode)type).Value : null)
            .FirstOrDefault(type => type is not null);

    /// <summary>Enum values reachable through $ref, allOf and oneOf.</summary>
    public IReadOnlyList<string> EnumOf(YamlMappingNode schema)
    {
        var values = new List<string>();
        foreach (var facet in Facets(schema, includeOneOf: true))
            if (facet.Children.TryGetValue(new YamlScalarNode("enum"), out var items))
                values.AddRange(((YamlSequenceNode)items).OfType<YamlScalarNode>().Select(v => v.Value!).Where(v => v is not null));
        return values;
    }

    /// <summary>Where a JSON value strays from the schema: unknown properties and wrong types, by path.</summary>
    public IReadOnlyList<string> Violations(JsonElement value, YamlMappingNode schema, string path)
    {
        var problems = new List<string>();
        Check(value, schema, path, problems);
        return problems;
    }

    private void Check(JsonElement value, YamlMappingNode schema, string path, List<string> problems)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            if (!Facets(schema).Any(f => f.Children.TryGetValue(new YamlScalarNode("nullable"), out var n) && ((YamlScalarNode)n).Value == "true")
                && TypeOf(schema) is not null)
                problems.Add($"{path}: null, but the spec does not allow null");
            return;
        }
        var type = TypeOf(schema);
        if (type is not null && !Fits(type, value))
        {
            problems.Add($"{path}: {value.ValueKind}, but the spec says {type}");
            return;
        }
        if (value.ValueKind != JsonValueKind.Object) return;

        var properties = PropertiesOf(schema);
        var additional = Facets(schema)
            .Select(f => f.Children.TryGetValue(new YamlScalarNode("additionalProperties"), out var a) ? a as YamlMappingNode : null)
            .FirstOrDefault(a => a is not null);
        foreach (var property in value.EnumerateObject())
        {
            var at = $"{path}.{property.Name}";
            if (properties.TryGetValue(property.Name, out var propertySchema)) Check(property.Value, propertySchema, at, problems);
            else if (additional is not null) Check(property.Value, additional, at, problems);
            else if (properties.Count > 0) problems.Add($"{at}: not a property in the spec");
            // An object schema with neither properties nor additionalProperties is free-form (templateContext).
        }
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        _ => true,
    };

    private Dictionary<string, YamlMappingNode> PropertiesOf(YamlMappingNode schema)
    {
        var properties = new Dictionary<string, YamlMappingNode>();
        foreach (var facet in Facets(schema))
            if (facet.Children.TryGetValue(new YamlScalarNode("properties"), out var declared))
                foreach (var (name, property) in ((YamlMappingNode)declared).Children)
                    properties.TryAdd(((YamlScalarNode)name).Value!, (YamlMappingNode)property);
        return properties;
    }

    // A schema and everything it pulls in through $ref and allOf (and oneOf when asked).
    private IEnumerable<YamlMappingNode> Facets(YamlMappingNode schema, bool includeOneOf = false)
    {
        if (RefOf(schema) is { } reference)
        {
            var name = reference["#/components/schemas/".Length..];
            foreach (var facet in Facets(At("components", "schemas", name), includeOneOf)) yield return facet;
        }
        yield return schema;
        var combinators = includeOneOf ? new[] { "allOf", "oneOf" } : ["allOf"];
        foreach (var combinator in combinators)
            if (schema.Children.TryGetValue(new YamlScalarNode(combinator), out var parts))
                foreach (var part in ((YamlSequenceNode)parts).OfType<YamlMappingNode>())
                    foreach (var facet in Facets(part, includeOneOf)) yield return facet;
    }
}
