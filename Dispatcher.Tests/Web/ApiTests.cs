using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.Telephony.Emulation;
using Npgsql;

namespace Dispatcher.Tests.Web;

/// <summary>The REST API's agencies, agent mappings and batches, and how it answers what it cannot do.</summary>
public sealed class ApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private const string RenewalsAgent = "9a6f2c3d-1e4b-4f70-8d25-b3c9e1a7f046";
    private readonly HttpClient _client = ApiClient.For(api.App);

    [Theory]
    [InlineData(null, null)]
    [InlineData("X-Api-Key", "wrong-key")]
    [InlineData("Authorization", "Bearer wrong-key")]
    [InlineData("Authorization", "Basic dGVzdC1hcGkta2V5")]
    public async Task A_request_without_a_valid_API_key_is_refused_with_401_before_its_body_is_read(string? header, string? value)
    {
        using var client = ApiClient.For(api.App, key: null);
        if (header is not null) client.DefaultRequestHeaders.TryAddWithoutValidation(header, value);

        var response = await client.PostAsync("/api/batches", new StringContent("{ not json", null, "application/json"));

        await ApiClient.ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_bearer_token_is_accepted_as_the_API_key()
    {
        using var client = ApiClient.For(api.App, key: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiClient.Key);

        var response = await client.GetAsync($"/api/batches/{long.MaxValue}");

        await ApiClient.ProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_agency_is_created_with_its_Ultravox_key_stored_encrypted_and_never_shown()
    {
        const string secret = "uv-secret-key-123456";

        var response = await _client.PostJsonAsync("/api/agencies", new { name = "Northwind Calls", ultravox_api_key = secret });

        var created = await ApiClient.JsonAsync(response, HttpStatusCode.Created);
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal("Northwind Calls", created.GetProperty("name").GetString());
        Assert.True(created.GetProperty("has_ultravox_api_key").GetBoolean());
        Assert.DoesNotContain(secret, created.GetRawText());
        Assert.EndsWith($"/api/agencies/{id}", response.Headers.Location!.ToString());
        await using var dataSource = NpgsqlDataSource.Create(api.DatabaseUrl);
        await using var read = dataSource.CreateCommand($"SELECT ultravox_api_key FROM agencies WHERE id = {id}");
        var stored = (byte[])(await read.ExecuteScalarAsync())!;
        Assert.DoesNotContain(secret, System.Text.Encoding.UTF8.GetString(stored));
        Assert.Equal(secret, api.App.Get<CredentialCipher>().Decrypt(stored));
    }

    [Fact]
    public async Task Replacing_an_agency_key_takes_effect_for_the_next_dial_at_once()
    {
        var id = (await ApiClient.JsonAsync(await _client.PostJsonAsync("/api/agencies", new { name = "Rotating", ultravox_api_key = "old-key" }),
            HttpStatusCode.Created)).GetProperty("id").GetInt64();
        var directory = api.App.Get<AgencyDirectory>();
        Assert.Equal("old-key", (await directory.GetAsync(id, null, CancellationToken.None)).ApiKey); // now cached

        var response = await _client.PutAsync($"/api/agencies/{id}/ultravox-key", System.Net.Http.Json.JsonContent.Create(new { ultravox_api_key = "new-key" }));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("new-key", (await directory.GetAsync(id, null, CancellationToken.None)).ApiKey);
    }

    [Fact]
    public async Task An_agency_without_a_name_gets_a_validation_problem_naming_the_field()
    {
        var problem = await ApiClient.ProblemAsync(await _client.PostJsonAsync("/api/agencies", new { ultravox_api_key = "k" }), HttpStatusCode.BadRequest);

        Assert.Equal("is required", problem.GetProperty("errors").GetProperty("name")[0].GetString());
    }

    [Fact]
    public async Task An_agent_mapping_is_created_for_an_existing_agency_only()
    {
        var created = await ApiClient.JsonAsync(await _client.PostJsonAsync($"/api/agencies/{api.Harness.AgencyId}/agents",
            new { ultravox_agent_id = RenewalsAgent, ultravox_agent_name = "Renewals", from_number = "+15550001111" }), HttpStatusCode.Created);
        Assert.Equal(RenewalsAgent, created.GetProperty("ultravox_agent_id").GetString());
        Assert.Equal(api.Harness.AgencyId, created.GetProperty("agency_id").GetInt64());

        await ApiClient.ProblemAsync(await _client.PostJsonAsync($"/api/agencies/{long.MaxValue}/agents",
            new { ultravox_agent_id = RenewalsAgent, from_number = "+15550001111" }), HttpStatusCode.NotFound);
        var invalid = await ApiClient.ProblemAsync(await _client.PostJsonAsync($"/api/agencies/{api.Harness.AgencyId}/agents",
            new { ultravox_agent_id = RenewalsAgent, from_number = "555-0001" }), HttpStatusCode.BadRequest);
        Assert.Contains("E.164", invalid.GetProperty("errors").GetProperty("from_number")[0].GetString());
    }

    [Theory]
    [InlineData("agent-7")]
    [InlineData("3f2b1c9e8d4a4b6f9a2e1c7d5e8f0a3b")] // a UUID without its hyphens, as Ultravox never shows one
    [InlineData("3f2b1c9e-8d4a-4b6f-9a2e-1c7d5e8f0a3")]
    public async Task An_agent_mapping_whose_agent_id_is_not_a_UUID_is_refused_when_created_not_at_dial_time(string agentId)
    {
        var mappingsBefore = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM agent_mappings");

        var problem = await ApiClient.ProblemAsync(await _client.PostJsonAsync($"/api/agencies/{api.Harness.AgencyId}/agents",
            new { ultravox_agent_id = agentId, ultravox_agent_name = "Typo", from_number = "+15550001111" }), HttpStatusCode.BadRequest);

        Assert.Contains("is not an Ultravox agent id: a UUID", problem.GetProperty("errors").GetProperty("ultravox_agent_id")[0].GetString());
        Assert.Equal(mappingsBefore, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM agent_mappings"));
    }

    [Fact]
    public async Task No_code_path_can_store_an_agent_id_that_is_not_a_UUID()
    {
        var directory = api.App.Get<AgencyDirectory>();

        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            directory.CreateAgentMappingAsync(api.Harness.AgencyId, "bench-agent", "Typo", "+15550001111", CancellationToken.None));

        Assert.Contains("not an Ultravox agent id", refused.Message);
    }

    [Fact]
    public async Task A_batch_created_from_JSON_can_be_read_back()
    {
        var response = await _client.PostJsonAsync("/api/batches", Batch(scheduledFor: DateTimeOffset.UtcNow.AddDays(1),
            new { phone_number = "+15551230001", name = "Ada", variables = new Dictionary<string, string> { ["plan"] = "gold" } },
            new { phone_number = "+15551230002" }));

        var created = await ApiClient.JsonAsync(response, HttpStatusCode.Created);
        Assert.Equal(2, created.GetProperty("imported").GetInt32());
        var id = created.GetProperty("batch").GetProperty("id").GetInt64();
        var batch = await ApiClient.JsonAsync(await _client.GetAsync(response.Headers.Location), HttpStatusCode.OK);
        Assert.Equal(id, batch.GetProperty("id").GetInt64());
        Assert.Equal("scheduled", batch.GetProperty("status").GetString());
        Assert.Equal(2, batch.GetProperty("total").GetInt32());
        Assert.Equal(1, await ApiClient.CountAsync(api.DatabaseUrl,
            $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id} AND name = 'Ada' AND variables = '{{\"plan\": \"gold\"}}'"));
    }

    [Fact]
    public async Task Invalid_JSON_contacts_reject_the_whole_batch_by_default_and_are_named_by_index()
    {
        var batchesBefore = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches");

        var problem = await ApiClient.ProblemAsync(await _client.PostJsonAsync("/api/batches", Batch(null,
            new { phone_number = "+15551230001" }, new { phone_number = "0044 20 7946" }, new { phone_number = "+15551230003", variables = new Dictionary<string, string> { ["9lives"] = "x" } })),
            HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Contains("E.164", errors.GetProperty("contacts[1].phone_number")[0].GetString());
        Assert.True(errors.TryGetProperty("contacts[2].variables", out _));
        Assert.Equal(2, problem.GetProperty("invalid_count").GetInt32());
        Assert.Equal(batchesBefore, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches"));
    }

    [Fact]
    public async Task Invalid_JSON_contacts_are_left_out_when_the_caller_asks_to_skip_them()
    {
        var created = await ApiClient.JsonAsync(await _client.PostJsonAsync("/api/batches?invalid_rows=skip", Batch(DateTimeOffset.UtcNow.AddDays(1),
            new { phone_number = "+15551230001" }, new { phone_number = "not a number" })), HttpStatusCode.Created);

        Assert.Equal(1, created.GetProperty("imported").GetInt32());
        Assert.Equal(1, created.GetProperty("skipped").GetInt32());
        Assert.Equal(1, created.GetProperty("invalid")[0].GetProperty("line").GetInt64());
        Assert.Equal(1, created.GetProperty("batch").GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("{\"agency_id\": 1, \"name\": ", "JSON")]
    [InlineData("{\"agency_id\": 1, \"calls_per_min\": 5}", "calls_per_min")]
    public async Task A_malformed_body_gets_a_400_problem_saying_what_is_wrong(string body, string named)
    {
        var response = await _client.PostAsync("/api/batches", new StringContent(body, null, "application/json"));

        var problem = await ApiClient.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(named, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_request_without_its_JSON_body_is_told_so_in_the_APIs_terms()
    {
        var problem = await ApiClient.ProblemAsync(await _client.PostAsync("/api/agencies", new StringContent("", null, "application/json")),
            HttpStatusCode.BadRequest);

        Assert.Equal("the request needs a JSON body", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("agency_id=acme&agent_mapping_id=1&name=x&calls_per_minute=1&max_concurrent=1", "agency_id: 'acme' is not a whole number")]
    [InlineData("agency_id=1&agent_mapping_id=1&name=x&calls_per_minute=1&max_concurrent=1&scheduled_for=tomorrow", "scheduled_for: 'tomorrow' is not an ISO 8601 date and time")]
    public async Task A_CSV_upload_with_a_malformed_query_parameter_is_told_which_and_why(string query, string detail)
    {
        var response = await _client.PostAsync($"/api/batches/csv?{query}", new StringContent("phone_number\n+15551230001\n", null, "text/csv"));

        var problem = await ApiClient.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_JSON_endpoint_sent_no_content_type_is_a_415_problem_saying_what_to_send()
    {
        using var content = new ByteArrayContent("{\"name\": \"x\"}"u8.ToArray());

        var problem = await ApiClient.ProblemAsync(await _client.PostAsync("/api/agencies", content), HttpStatusCode.UnsupportedMediaType);

        Assert.Equal("Unsupported Media Type", problem.GetProperty("title").GetString());
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_batch_missing_its_settings_gets_every_missing_field_named()
    {
        var problem = await ApiClient.ProblemAsync(await _client.PostJsonAsync("/api/batches", new { name = "No settings" }), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "agency_id", "agent_mapping_id", "calls_per_minute", "max_concurrent", "contacts" })
            Assert.True(errors.TryGetProperty(field, out _), $"{field} is not named in {errors}");
    }

    [Fact]
    public async Task A_batch_for_an_agent_mapping_of_another_agency_is_refused()
    {
        var other = (await ApiClient.JsonAsync(await _client.PostJsonAsync("/api/agencies", new { name = "Other agency" }), HttpStatusCode.Created))
            .GetProperty("id").GetInt64();

        var problem = await ApiClient.ProblemAsync(await _client.PostJsonAsync("/api/batches", new
        {
            agency_id = other,
            agent_mapping_id = api.Harness.MappingId,
            name = "Borrowed agent",
            calls_per_minute = 10,
            max_concurrent = 1,
            contacts = new[] { new { phone_number = "+15551230001" } },
        }), HttpStatusCode.BadRequest);

        Assert.Contains($"does not exist for agency {other}", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_unknown_batch_or_route_is_a_404_problem()
    {
        await ApiClient.ProblemAsync(await _client.GetAsync($"/api/batches/{long.MaxValue}"), HttpStatusCode.NotFound);
        await ApiClient.ProblemAsync(await _client.PostAsync($"/api/batches/{long.MaxValue}/pause", null), HttpStatusCode.NotFound);
        await ApiClient.ProblemAsync(await _client.GetAsync("/api/no-such-thing"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Stopping_an_agency_that_does_not_exist_is_a_404_problem_and_stops_nothing()
    {
        await ApiClient.ProblemAsync(await _client.PostAsync("/api/stop", JsonContent.Create(new { agency_id = long.MaxValue })), HttpStatusCode.NotFound);

        var inForce = await (await _client.GetAsync("/api/stop")).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.DoesNotContain(inForce.EnumerateArray(), stop => stop.GetProperty("agency_id").ValueKind == System.Text.Json.JsonValueKind.Number
                                                                  && stop.GetProperty("agency_id").GetInt64() == long.MaxValue);
    }

    [Fact]
    public async Task A_batch_is_paused_resumed_and_cancelled_and_an_impossible_change_is_a_409_problem()
    {
        var id = await CreateBatchAsync(DateTimeOffset.UtcNow.AddDays(1));

        var paused = await ApiClient.JsonAsync(await _client.PostAsync($"/api/batches/{id}/pause", null), HttpStatusCode.OK);
        Assert.Equal("paused", paused.GetProperty("status").GetString());
        var again = await ApiClient.ProblemAsync(await _client.PostAsync($"/api/batches/{id}/pause", null), HttpStatusCode.Conflict);
        Assert.Contains("paused", again.GetProperty("detail").GetString());

        var resumed = await ApiClient.JsonAsync(await _client.PostAsync($"/api/batches/{id}/resume", null), HttpStatusCode.OK);
        Assert.Equal("pending", resumed.GetProperty("status").GetString());

        var cancelled = await ApiClient.JsonAsync(await _client.PostAsync($"/api/batches/{id}/cancel", null), HttpStatusCode.OK);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(2, cancelled.GetProperty("cancelled").GetInt32());
        await ApiClient.ProblemAsync(await _client.PostAsync($"/api/batches/{id}/resume", null), HttpStatusCode.Conflict);
        await ApiClient.ProblemAsync(await _client.PostAsync($"/api/batches/{id}/retry-failed", null), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Failed_contacts_of_a_batch_are_retried_on_request()
    {
        api.Harness.Fake.OnCreate = _ => new EmulatedAnswer.Reject(400, "{\"detail\":\"number not reachable\"}");
        long id;
        try
        {
            id = await CreateBatchAsync(null);
            await api.Harness.WaitForBatchAsync(id, "completed", TimeSpan.FromSeconds(30));
        }
        finally
        {
            api.Harness.Fake.OnCreate = _ => new EmulatedAnswer.Create();
        }

        var retried = await ApiClient.JsonAsync(await _client.PostAsync($"/api/batches/{id}/retry-failed", null), HttpStatusCode.OK);

        Assert.Equal(2, retried.GetProperty("requeued").GetInt32());
        var batch = await api.Harness.WaitForBatchAsync(id, "completed", TimeSpan.FromSeconds(30));
        Assert.Equal(2, batch.Completed);
    }

    private async Task<long> CreateBatchAsync(DateTimeOffset? scheduledFor)
    {
        var created = await ApiClient.JsonAsync(await _client.PostJsonAsync("/api/batches", Batch(scheduledFor,
            new { phone_number = "+15551239001" }, new { phone_number = "+15551239002" })), HttpStatusCode.Created);
        return created.GetProperty("batch").GetProperty("id").GetInt64();
    }

    private object Batch(DateTimeOffset? scheduledFor, params object[] contacts) => new
    {
        agency_id = api.Harness.AgencyId,
        agent_mapping_id = api.Harness.MappingId,
        name = "Spring campaign",
        calls_per_minute = 600,
        max_concurrent = 5,
        scheduled_for = scheduledFor,
        contacts,
    };
}
