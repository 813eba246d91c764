using System.Net;
using System.Text;

namespace Dispatcher.Tests.Web;

/// <summary>Batches from CSV uploads: streamed, up to 100,000 contacts, invalid rows by line number, never half-written.</summary>
public sealed class CsvUploadTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _client = ApiClient.For(api.App);

    /// <summary>Line 3: no E.164; line 4: a field short; line 5 (two lines, a quoted newline) is fine; line 7 is fine; line 8: unclosed quote.</summary>
    private const string CsvWithInvalidRows =
        "phone_number,name,plan\n" +
        "+15552000001,Ada,gold\n" +
        "555-0102,Bob,silver\n" +
        "+15552000003,Cy\n" +
        "+15552000004,\"Dee\nDaniels\",bronze\n" +
        "+15552000005,Eve,\n" +
        "+15552000006,\"Fay,gold\n";

    [Fact]
    public async Task A_CSV_creates_a_batch_whose_extra_columns_are_the_contacts_variables()
    {
        var response = await _client.PostCsvAsync(Upload(), "phone_number,name,plan,city\n+15552000001,Ada,gold,Leeds\n+15552000002,,silver,\n");

        var created = await ApiClient.JsonAsync(response, HttpStatusCode.Created);
        var id = created.GetProperty("batch").GetProperty("id").GetInt64();
        Assert.Equal(2, created.GetProperty("batch").GetProperty("total").GetInt32());
        Assert.Equal(1, await ApiClient.CountAsync(api.DatabaseUrl,
            $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id} AND name = 'Ada' AND variables = '{{\"plan\": \"gold\", \"city\": \"Leeds\"}}'"));
        Assert.Equal(1, await ApiClient.CountAsync(api.DatabaseUrl,
            $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id} AND name IS NULL AND variables = '{{\"plan\": \"silver\"}}'"));
    }

    [Fact]
    public async Task Invalid_rows_are_reported_by_line_number_and_reject_the_upload_without_writing_anything()
    {
        var batches = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches");
        var contacts = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM campaign_contacts");

        var problem = await ApiClient.ProblemAsync(await _client.PostCsvAsync(Upload(), CsvWithInvalidRows), HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal(["line 3", "line 4", "line 8"], errors.EnumerateObject().Select(e => e.Name).Order());
        Assert.Contains("phone_number: '555-0102' is not in E.164 form", errors.GetProperty("line 3")[0].GetString());
        Assert.Contains("has 2 fields where the header names 3", errors.GetProperty("line 4")[0].GetString());
        Assert.Contains("quot", errors.GetProperty("line 8")[0].GetString());
        Assert.Equal(3, problem.GetProperty("invalid_count").GetInt32());
        Assert.Equal(batches, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches"));
        Assert.Equal(contacts, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM campaign_contacts"));
    }

    [Fact]
    public async Task A_CSV_that_is_not_UTF_8_is_refused_without_writing_anything()
    {
        // Found by the fault drill: the bytes became U+FFFD in the contact's stored name and the batch was created.
        var batches = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches");
        var body = new ByteArrayContent([.. "phone_number,name\n+15552000001,Ad"u8, 0xff, 0xfe, (byte)'\n']);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");

        var problem = await ApiClient.ProblemAsync(await _client.PostAsync(Upload(), body), HttpStatusCode.BadRequest);

        Assert.Contains("not UTF-8", problem.GetProperty("detail").GetString());
        Assert.Contains("FF", problem.GetProperty("detail").GetString());
        Assert.Equal(batches, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM call_batches"));
    }

    [Fact]
    public async Task Invalid_rows_are_skipped_and_listed_when_the_caller_asks()
    {
        var created = await ApiClient.JsonAsync(await _client.PostCsvAsync(Upload("&invalid_rows=skip"), CsvWithInvalidRows), HttpStatusCode.Created);

        Assert.Equal(3, created.GetProperty("imported").GetInt32());
        Assert.Equal(3, created.GetProperty("skipped").GetInt32());
        Assert.Equal([3L, 4L, 8L], created.GetProperty("invalid").EnumerateArray().Select(i => i.GetProperty("line").GetInt64()));
        var id = created.GetProperty("batch").GetProperty("id").GetInt64();
        Assert.Equal(1, await ApiClient.CountAsync(api.DatabaseUrl, $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id} AND name = 'Dee\nDaniels'"));
        Assert.Equal(3, await ApiClient.CountAsync(api.DatabaseUrl, $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id}"));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("name,plan\nAda,gold\n", "no phone_number column")]
    [InlineData("phone_number,favourite colour\n+15552000001,red\n", "'favourite colour' is not a variable name")]
    public async Task A_CSV_that_cannot_be_read_as_contacts_is_refused_as_a_whole(string csv, string named)
    {
        var problem = await ApiClient.ProblemAsync(await _client.PostCsvAsync(Upload(), csv), HttpStatusCode.BadRequest);

        Assert.Contains(named, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_CSV_of_100000_contacts_is_accepted_in_one_request()
    {
        var response = await _client.PostAsync(Upload(), new StringContent(Contacts(100_000), Encoding.UTF8, "text/csv"));

        var created = await ApiClient.JsonAsync(response, HttpStatusCode.Created);
        var id = created.GetProperty("batch").GetProperty("id").GetInt64();
        Assert.Equal(100_000, created.GetProperty("batch").GetProperty("total").GetInt32());
        Assert.Equal(100_000, await ApiClient.CountAsync(api.DatabaseUrl, $"SELECT count(*) FROM campaign_contacts WHERE batch_id = {id}"));
    }

    [Fact]
    public async Task A_CSV_of_more_than_100000_contacts_is_refused_with_413_and_nothing_written()
    {
        var contacts = await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM campaign_contacts");

        var problem = await ApiClient.ProblemAsync(await _client.PostAsync(Upload(), new StringContent(Contacts(100_001), Encoding.UTF8, "text/csv")),
            HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("100,000", problem.GetProperty("detail").GetString());
        Assert.Equal(contacts, await ApiClient.CountAsync(api.DatabaseUrl, "SELECT count(*) FROM campaign_contacts"));
    }

    [Fact]
    public async Task An_upload_larger_than_API_MAX_UPLOAD_BYTES_is_refused_with_413()
    {
        await using var app = DispatcherApp.Start(api.DatabaseUrl, new Dictionary<string, string>
        {
            ["API_KEYS"] = ApiClient.Key,
            ["API_MAX_UPLOAD_BYTES"] = "1000",
        });
        using var client = ApiClient.For(app);

        var problem = await ApiClient.ProblemAsync(await client.PostCsvAsync(Upload(), Contacts(100)), HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal("Request too large", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_multipart_form_upload_is_refused_with_415_saying_how_to_send_the_file()
    {
        using var form = new MultipartFormDataContent { { new StringContent(Contacts(2)), "file", "contacts.csv" } };

        var problem = await ApiClient.ProblemAsync(await _client.PostAsync(Upload(), form), HttpStatusCode.UnsupportedMediaType);

        Assert.Contains("Content-Type text/csv", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Missing_batch_settings_in_the_query_string_are_named()
    {
        var problem = await ApiClient.ProblemAsync(await _client.PostCsvAsync("/api/batches/csv?name=x&invalid_rows=maybe", Contacts(1)),
            HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "agency_id", "agent_mapping_id", "calls_per_minute", "max_concurrent", "invalid_rows" })
            Assert.True(errors.TryGetProperty(field, out _), $"{field} is not named in {errors}");
    }

    /// <summary>Scheduled tomorrow, so nothing is dialled while the test looks.</summary>
    private string Upload(string more = "") =>
        $"/api/batches/csv?agency_id={api.Harness.AgencyId}&agent_mapping_id={api.Harness.MappingId}&name=Imported&calls_per_minute=60&max_concurrent=5" +
        $"&scheduled_for={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(1).ToString("O"))}{more}";

    private static string Contacts(int count)
    {
        var csv = new StringBuilder("phone_number,name,plan\n", 40 * count);
        for (var i = 0; i < count; i++) csv.Append("+1555").Append(3_000_000 + i).Append(",Contact ").Append(i).Append(",gold\n");
        return csv.ToString();
    }
}
