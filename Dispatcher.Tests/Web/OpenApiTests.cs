using System.Net;

namespace Dispatcher.Tests.Web;

/// <summary>/openapi/v1.json describes the whole REST API and how to authenticate.</summary>
public sealed class OpenApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task The_OpenAPI_document_lists_every_endpoint_and_the_API_key_scheme()
    {
        using var client = ApiClient.For(api.App, key: null);

        var document = await ApiClient.JsonAsync(await client.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);

        var paths = document.GetProperty("paths");
        var expected = new (string Path, string Method)[]
        {
            ("/api/agencies", "post"), ("/api/agencies/{agencyId}/ultravox-key", "put"), ("/api/agencies/{agencyId}/agents", "post"),
            ("/api/batches", "post"), ("/api/batches/csv", "post"), ("/api/batches/{batchId}", "get"),
            ("/api/batches/{batchId}/pause", "post"), ("/api/batches/{batchId}/resume", "post"), ("/api/batches/{batchId}/cancel", "post"),
            ("/api/batches/{batchId}/retry-failed", "post"), ("/api/signups", "post"), ("/api/onboarding-calls/{id}", "get"),
            ("/api/agencies/{agencyId}/calling-hours", "put"), ("/api/agencies/{agencyId}/do-not-call", "get"), ("/api/agencies/{agencyId}/do-not-call", "post"),
            ("/api/agencies/{agencyId}/do-not-call/remove", "post"), ("/api/stop", "get"), ("/api/stop", "post"), ("/api/resume", "post"),
        };
        foreach (var (path, method) in expected)
            Assert.True(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method, out _), $"{method.ToUpperInvariant()} {path} is not in the document");
        Assert.Equal(expected.Length, paths.EnumerateObject().Sum(p => p.Value.EnumerateObject().Count()));
        Assert.True(paths.GetProperty("/api/batches/csv").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("text/csv", out _));
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
    }

    [Theory]
    [InlineData("ContactRequest", "phone_number", "name,variables")]
    [InlineData("CreateBatchRequest", "agency_id,agent_mapping_id,name,calls_per_minute,max_concurrent,contacts", "max_attempts,scheduled_for")]
    [InlineData("SignupRequest", "user_id,phone_number", "signup_mode,metadata")]
    public async Task The_documented_request_schemas_leave_the_optional_fields_optional(string schema, string required, string optional)
    {
        using var client = ApiClient.For(api.App, key: null);

        var document = await ApiClient.JsonAsync(await client.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);

        var listed = document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("required")
            .EnumerateArray().Select(r => r.GetString()!).ToHashSet();
        Assert.Equal(required.Split(',').ToHashSet(), listed);
        foreach (var field in optional.Split(','))
            Assert.True(document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").TryGetProperty(field, out _),
                $"{schema}.{field} is not described");
    }
}
