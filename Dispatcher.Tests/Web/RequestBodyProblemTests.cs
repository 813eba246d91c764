using System.Net;
using System.Text.Json;

namespace Dispatcher.Tests.Web;

/// <summary>
/// A body the API cannot read is a 400 problem+json whose errors name the JSON field as the caller
/// wrote it and what the field allows, never a .NET type.
/// </summary>
public sealed class RequestBodyProblemTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _client = ApiClient.For(api.App);

    private async Task<JsonElement> ErrorsOfAsync(string path, string body)
    {
        var response = await _client.PostAsync(path, new StringContent(body, null, "application/json"));
        var problem = await ApiClient.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.DoesNotMatch(@"System\.|Dispatcher\.|Nullable|\.NET", problem.GetRawText());
        return problem.GetProperty("errors");
    }

    private string Batch(string fields) =>
        $$"""{"agency_id": {{api.Harness.AgencyId}}, "agent_mapping_id": {{api.Harness.MappingId}}, "name": "Spring", "max_concurrent": 2, {{fields}}}""";

    [Fact]
    public async Task A_field_of_the_wrong_type_is_named_with_what_it_takes()
    {
        var errors = await ErrorsOfAsync("/api/batches", Batch("""
            "calls_per_minute": "fast", "contacts": [{"phone_number": "+14155550123"}]
            """));

        Assert.Equal("must be a whole number up to 2147483647", errors.GetProperty("calls_per_minute")[0].GetString());
    }

    [Fact]
    public async Task A_field_of_the_wrong_type_inside_a_contact_is_named_by_its_index()
    {
        var errors = await ErrorsOfAsync("/api/batches", Batch("""
            "calls_per_minute": 30, "contacts": [{"phone_number": "+14155550123"}, {"phone_number": 14155550124}]
            """));

        Assert.Equal("must be a string", errors.GetProperty("contacts[1].phone_number")[0].GetString());
    }

    [Fact]
    public async Task An_unknown_field_is_named_with_the_fields_the_request_has()
    {
        var errors = await ErrorsOfAsync("/api/batches", Batch("""
            "calls_per_min": 30, "contacts": [{"phone_number": "+14155550123"}]
            """));

        var fault = errors.GetProperty("calls_per_min")[0].GetString()!;
        Assert.StartsWith("is not a field of this request; the fields are ", fault);
        Assert.Contains("calls_per_minute", fault);
    }

    [Fact]
    public async Task An_unknown_field_inside_a_contact_is_named_by_its_index()
    {
        var errors = await ErrorsOfAsync("/api/batches", Batch("""
            "calls_per_minute": 30, "contacts": [{"phone": "+14155550123"}]
            """));

        Assert.Equal("is not a field of this request; the fields are phone_number, name, variables, time_zone", errors.GetProperty("contacts[0].phone")[0].GetString());
    }

    [Fact]
    public async Task A_missing_field_is_named_as_required()
    {
        var errors = await ErrorsOfAsync($"/api/agencies/{api.Harness.AgencyId}/agents", """{"from_number": "+14155550100"}""");

        Assert.Equal("is required", errors.GetProperty("ultravox_agent_id")[0].GetString());
    }

    [Fact]
    public async Task Malformed_JSON_is_a_fault_of_the_body_with_where_it_breaks()
    {
        var response = await _client.PostAsync("/api/agencies", new StringContent("{\"name\": \"Acme\",\n \"ultravox_api_key\": }", null, "application/json"));

        var problem = await ApiClient.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Malformed request", problem.GetProperty("title").GetString());
        var fault = problem.GetProperty("errors").GetProperty("body")[0].GetString()!;
        Assert.StartsWith("is not valid JSON: ", fault);
        Assert.Contains("(line 2, byte ", fault);
    }

    [Fact]
    public async Task A_body_that_is_not_an_object_is_told_which_fields_it_takes()
    {
        var errors = await ErrorsOfAsync("/api/agencies", """["Acme"]""");

        Assert.Equal("must be an object with the fields name, ultravox_api_key", errors.GetProperty("body")[0].GetString());
    }

    [Fact]
    public async Task A_malformed_query_parameter_of_a_CSV_upload_is_named_in_the_errors()
    {
        var response = await _client.PostCsvAsync("/api/batches/csv?agency_id=acme&agent_mapping_id=1&name=x&calls_per_minute=1&max_concurrent=1",
            "phone_number\n+15551230001\n");

        var problem = await ApiClient.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("'acme' is not a whole number", problem.GetProperty("errors").GetProperty("agency_id")[0].GetString());
    }
}
