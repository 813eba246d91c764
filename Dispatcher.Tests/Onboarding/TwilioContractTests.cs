using Dispatcher.Testing;
using System.Text.Json;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Tests.Campaigns;
using Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Tests.Onboarding;

/// <summary>
/// Checks what the client sends and reads, and what the fake answers, against Twilio's 2010-04-01
/// OpenAPI spec. The spec is reference data kept beside the repository (shared/reference), never
/// in it. [SpecFact(TwilioSpec.FileName)] skips these tests where shared/reference is absent; it looks for the Ultravox
/// spec, which sits beside the Twilio one.
/// </summary>
public sealed class TwilioContractTests
{
    private const string Calls = "/2010-04-01/Accounts/{AccountSid}/Calls.json";
    private const string CallSchema = "api.v2010.account.call";

    [SpecFact(TwilioSpec.FileName)]
    public async Task Every_form_field_the_client_sends_is_a_CreateCallRequest_property_of_that_exact_name_and_type()
    {
        var spec = TwilioSpec.Load();
        var form = (await SentCreateRequestAsync()).Form;

        var schema = spec.CreateCallRequest();
        Assert.Equal("CreateCallRequest", schema.GetProperty("title").GetString());
        var properties = schema.GetProperty("properties");
        var names = properties.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(form, field => Assert.Contains(field.Key, names));
        Assert.All(schema.GetProperty("required").EnumerateArray(), required => Assert.Contains(form, f => f.Key == required.GetString()));

        // Only an array property may be repeated; the rest must be sent once, in their declared type.
        foreach (var group in form.GroupBy(f => f.Key))
        {
            var property = properties.GetProperty(group.Key);
            var type = property.GetProperty("type").GetString();
            if (group.Count() > 1) Assert.Equal("array", type);
            if (type == "integer") Assert.All(group, f => Assert.True(int.TryParse(f.Value, out _), $"{f.Key}={f.Value}"));
            if (property.TryGetProperty("enum", out var allowed))
                Assert.All(group, f => Assert.Contains(f.Value, allowed.EnumerateArray().Select(v => v.GetString())));
        }
    }

    [SpecFact(TwilioSpec.FileName)]
    public void The_name_check_is_case_sensitive()
    {
        var names = TwilioSpec.Load().CreateCallRequest().GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        Assert.Contains("StatusCallback", names);
        Assert.DoesNotContain("statusCallback", names);
        Assert.DoesNotContain("status_callback", names);
    }

    [SpecFact(TwilioSpec.FileName)]
    public async Task The_StatusCallbackEvent_values_sent_are_the_call_event_enum()
    {
        var spec = TwilioSpec.Load();
        var sent = (await SentCreateRequestAsync()).StatusCallbackEvents;

        var allowed = spec.Schema("call_enum_event").GetProperty("enum").EnumerateArray().Select(v => v.GetString()).ToArray();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, value => Assert.Contains(value, allowed));
        Assert.Equal(sent.Distinct(), sent);
        var description = spec.CreateCallRequest().GetProperty("properties").GetProperty("StatusCallbackEvent").GetProperty("description").GetString();
        Assert.All(sent, value => Assert.Contains($"`{value}`", description));
    }

    [SpecFact(TwilioSpec.FileName)]
    public void The_created_call_is_the_call_schema_with_every_field_the_client_reads()
    {
        var spec = TwilioSpec.Load();

        var created = spec.PathItem(Calls).GetProperty("post").GetProperty("responses").GetProperty("201")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Equal($"#/components/schemas/{CallSchema}", created.GetProperty("$ref").GetString());
        var call = spec.Schema(CallSchema).GetProperty("properties");
        Assert.Equal("string", call.GetProperty("sid").GetProperty("type").GetString());
        Assert.Equal("string", call.GetProperty("to").GetProperty("type").GetString());
        Assert.Equal("date-time-rfc-2822", call.GetProperty("start_time").GetProperty("format").GetString());
        Assert.Equal("date-time-rfc-2822", call.GetProperty("date_created").GetProperty("format").GetString());
        Assert.Equal("#/components/schemas/call_enum_status", call.GetProperty("status").GetProperty("$ref").GetString());
    }

    [SpecFact(TwilioSpec.FileName)]
    public void Every_status_and_outcome_the_fake_plays_is_a_call_status()
    {
        var statuses = TwilioSpec.Load().Schema("call_enum_status").GetProperty("enum").EnumerateArray().Select(v => v.GetString()).ToArray();

        Assert.All(new[] { "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled" },
            status => Assert.Contains(status, statuses));
    }

    [SpecFact(TwilioSpec.FileName)]
    public void Listing_calls_takes_To_StartTime_on_or_after_and_PageSize_and_pages_with_next_page_uri()
    {
        var spec = TwilioSpec.Load();

        var list = spec.PathItem(Calls).GetProperty("get");
        var query = list.GetProperty("parameters").EnumerateArray()
            .Where(p => p.GetProperty("in").GetString() == "query")
            .Select(p => p.GetProperty("name").GetString())
            .ToArray();
        // "StartTime>" written as StartTime>=YYYY-MM-DD (or StartTime%3E=) is "on or after that date".
        Assert.Contains("To", query);
        Assert.Contains("StartTime>", query);
        Assert.Contains("PageSize", query);
        var page = list.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json")
            .GetProperty("schema").GetProperty("properties");
        Assert.Equal("string", page.GetProperty("next_page_uri").GetProperty("type").GetString());
        Assert.Equal($"#/components/schemas/{CallSchema}", page.GetProperty("calls").GetProperty("items").GetProperty("$ref").GetString());
    }

    [SpecFact(TwilioSpec.FileName)]
    public void The_client_defaults_to_the_specs_server_and_uses_basic_auth()
    {
        var spec = TwilioSpec.Load();

        Assert.Equal(new TwilioOptions().BaseUrl, spec.PathItem(Calls).GetProperty("servers")[0].GetProperty("url").GetString());
        Assert.Equal("basic", spec.Root.GetProperty("components").GetProperty("securitySchemes")
            .GetProperty("accountSid_authToken").GetProperty("scheme").GetString());
    }

    [SpecFact(TwilioSpec.FileName)]
    public async Task The_fakes_call_json_uses_only_call_schema_fields_and_a_sid_of_the_right_pattern()
    {
        var spec = TwilioSpec.Load();
        await using var fake = await TwilioEmulation.StartAsync();
        using var client = Client(fake);
        Assert.IsType<TwilioCallOutcome.Created>(await client.CreateCallAsync(Request(), CancellationToken.None));

        using var http = new HttpClient();
        using var get = new HttpRequestMessage(HttpMethod.Get, $"{fake.BaseUrl}/2010-04-01/Accounts/{fake.AccountSid}/Calls.json");
        get.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{fake.AccountSid}:{fake.AuthToken}")));
        using var response = await http.SendAsync(get);
        using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var call = page.RootElement.GetProperty("calls")[0];

        var properties = spec.Schema(CallSchema).GetProperty("properties");
        Assert.All(call.EnumerateObject(), field => Assert.True(properties.TryGetProperty(field.Name, out _), field.Name));
        Assert.Matches(properties.GetProperty("sid").GetProperty("pattern").GetString()!, call.GetProperty("sid").GetString());
        Assert.Matches(properties.GetProperty("account_sid").GetProperty("pattern").GetString()!, call.GetProperty("account_sid").GetString());
    }

    private static CreateTwilioCall Request() =>
        new("+15550000001", "https://onboarding.example.com/twiml", "https://onboarding.example.com/webhooks/twilio/status", "Enable", 30);

    private static TwilioCalls Client(TwilioEmulation fake) => new(
        new TwilioOptions { BaseUrl = fake.BaseUrl, AccountSid = fake.AccountSid, AuthToken = fake.AuthToken, FromNumber = "+15559990000" },
        TimeProvider.System);

    // Every optional field included, so each one is checked.
    private static async Task<TwilioCreateRequest> SentCreateRequestAsync()
    {
        await using var fake = await TwilioEmulation.StartAsync();
        using var client = Client(fake);
        Assert.IsType<TwilioCallOutcome.Created>(await client.CreateCallAsync(Request(), CancellationToken.None));
        var sent = fake.CreateRequests.Single();
        Assert.Contains(sent.Form, f => f.Key == "MachineDetection");
        Assert.Contains(sent.Form, f => f.Key == "Timeout");
        return sent;
    }
}

/// <summary>Just enough reading of twilio_api_v2010.json for the contract tests.</summary>
internal sealed class TwilioSpec(JsonDocument document)
{
    private static readonly Lazy<TwilioSpec> Loaded = new(() =>
        new TwilioSpec(JsonDocument.Parse(File.ReadAllBytes(FindPath() ?? throw new FileNotFoundException("shared/reference/twilio_api_v2010.json")))));

    public static TwilioSpec Load() => Loaded.Value;

    public JsonElement Root => document.RootElement;

    public const string FileName = "twilio_api_v2010.json";

    public static string? FindPath() => SharedReference.Find(FileName);

    public JsonElement PathItem(string path) => Root.GetProperty("paths").GetProperty(path);

    public JsonElement Schema(string name) => Root.GetProperty("components").GetProperty("schemas").GetProperty(name);

    // The form body schema is inline in the operation, titled CreateCallRequest.
    public JsonElement CreateCallRequest() =>
        PathItem("/2010-04-01/Accounts/{AccountSid}/Calls.json").GetProperty("post").GetProperty("requestBody").GetProperty("content")
            .GetProperty("application/x-www-form-urlencoded").GetProperty("schema");
}
