extern alias web;

using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatcher.Jobs.Campaigns.Ultravox;
using web::Dispatcher.Web.Telephony.Emulation;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// The malformed requests the drill sends once the work has settled: bad JSON, wrong types, values
/// past their limits, bad CSV, a wrong API key, and webhooks with forged or stale signatures or
/// replayed from the past. Generated from a valid request of each kind, so each differs from an
/// accepted one in one way only.
/// </summary>
public sealed class BadInputs(DrillProviders providers, DrillBatch batch, long agencyId, long mappingId, long otherMappingId, long signupJobId)
{
    public const string ApiKey = "drill-api-key";

    private static readonly string[] WrongValues = ["\"fast\"", "[]", "{}", "true", "1.5"];

    public IReadOnlyList<BadInput> All() => [.. BatchJson(), .. BatchCsv(), .. Signups(), .. Agencies(), .. Keys(), .. UltravoxWebhooks(), .. TwilioCallbacks()];

    private JsonObject ValidBatch() => new()
    {
        ["agency_id"] = agencyId,
        ["agent_mapping_id"] = mappingId,
        ["name"] = "Refused batch",
        ["calls_per_minute"] = 30,
        ["max_concurrent"] = 2,
        ["max_attempts"] = 1,
        ["contacts"] = new JsonArray(new JsonObject { ["phone_number"] = "+15559990001", ["name"] = "Never" }),
    };

    private IEnumerable<BadInput> BatchJson()
    {
        var valid = ValidBatch().ToJsonString();
        for (var cut = 1; cut <= 20; cut++)
            yield return Json("batch: truncated JSON", "/api/batches", valid[..(valid.Length * cut / 21)]);
        foreach (var field in new[] { "agency_id", "agent_mapping_id", "name", "calls_per_minute", "max_concurrent", "max_attempts", "contacts", "scheduled_for" })
            foreach (var wrong in WrongValues)
            {
                if (field is "name" or "scheduled_for" && wrong == "\"fast\"") continue; // a name; a bad date is covered below
                var body = ValidBatch();
                body[field] = JsonNode.Parse(wrong);
                yield return Json($"batch: {field} of the wrong type", "/api/batches", body.ToJsonString());
            }
        (string Field, JsonNode? Value)[] limits =
        [
            ("calls_per_minute", 0), ("calls_per_minute", 6001), ("calls_per_minute", -5), ("calls_per_minute", 2147483648L),
            ("max_concurrent", 0), ("max_concurrent", 1001), ("max_attempts", 0), ("max_attempts", 11),
            ("name", ""), ("name", new string('n', 5000)), ("agency_id", 999_999_999), ("agent_mapping_id", 999_999_999),
            ("agent_mapping_id", otherMappingId), ("scheduled_for", "tomorrow"), ("contacts", new JsonArray()), ("calls_per_min", 30),
            ("agency_id", null), ("calls_per_minute", null),
        ];
        foreach (var (field, value) in limits)
        {
            var body = ValidBatch();
            body[field] = value?.DeepClone();
            yield return Json($"batch: {field} past its limits", "/api/batches", body.ToJsonString());
        }
        JsonObject[] contacts =
        [
            new() { ["phone_number"] = "555-0100" }, new() { ["phone_number"] = "+0123456789" }, new() { ["phone_number"] = "" },
            new() { ["name"] = "No number" }, new() { ["phone_number"] = "+15559990002", ["name"] = new string('x', 201) },
            new() { ["phone_number"] = "+15559990003", ["variables"] = new JsonObject { ["plan"] = new string('v', 1001) } },
            new() { ["phone_number"] = "+15559990004", ["variables"] = new JsonObject { ["plan"] = 5 } },
            new() { ["phone_number"] = "+15559990005", ["extra"] = true },
        ];
        foreach (var contact in contacts)
        {
            var body = ValidBatch();
            body["contacts"] = new JsonArray(contact);
            yield return Json("batch: an invalid contact", "/api/batches", body.ToJsonString());
            // Skipping invalid rows leaves no contact at all: still nothing to create.
            yield return Json("batch: only invalid contacts, skipped", "/api/batches?invalid_rows=skip", body.ToJsonString());
        }
        yield return Json("batch: invalid_rows unknown", "/api/batches?invalid_rows=maybe", valid);
    }

    private IEnumerable<BadInput> BatchCsv()
    {
        var query = $"agency_id={agencyId}&agent_mapping_id={mappingId}&name=Refused&calls_per_minute=30&max_concurrent=2";
        const string good = "phone_number,name\n+15559990010,Never\n";
        string[] bodies =
        [
            "name,plan\nNever,gold\n", "phone_number,name\n\"+15559990011,Never\n", "phone_number,name\n555-0100,Never\n",
            "phone_number,name\n+15559990012,Never,extra\n", "phone_number,name,plan\n+15559990013\n", "", "phone_number\n",
            "phone_number,1plan\n+15559990014,gold\n", $"phone_number,name\n+15559990015,{new string('x', 201)}\n",
            "phone_number,name\n+15559990016,Ne\"ver\n", "phone_number,phone_number\n+15559990017,+15559990018\n",
        ];
        foreach (var body in bodies) yield return Csv("csv: bad contents", $"/api/batches/csv?{query}", Encoding.UTF8.GetBytes(body));
        yield return Csv("csv: not UTF-8", $"/api/batches/csv?{query}", [.. "phone_number,name\n+15559990019,"u8, 0xff, 0xfe, (byte)'\n']);
        yield return Csv("csv: only invalid rows, skipped", $"/api/batches/csv?{query}&invalid_rows=skip", "phone_number,name\n555-0100,Never\n"u8.ToArray());
        string[] queries =
        [
            query.Replace($"agency_id={agencyId}", "agency_id=acme"), query.Replace("calls_per_minute=30", "calls_per_minute=0"),
            query.Replace("&name=Refused", ""), query.Replace("max_concurrent=2", "max_concurrent=x"), query + "&max_attempts=99",
            query + "&scheduled_for=soon", query.Replace($"agency_id={agencyId}", "agency_id=999999999"), "",
        ];
        foreach (var q in queries) yield return Csv("csv: bad query", $"/api/batches/csv?{q}", Encoding.UTF8.GetBytes(good));
        yield return new BadInput("csv: a multipart form", true, door =>
        {
            var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes(good)), "file", "contacts.csv" } };
            return Authorized(new HttpRequestMessage(HttpMethod.Post, $"{door}/api/batches/csv?{query}") { Content = form });
        });
    }

    private IEnumerable<BadInput> Signups()
    {
        var valid = new JsonObject { ["user_id"] = "refused-user", ["phone_number"] = "+16669990001", ["signup_mode"] = "default" };
        var text = valid.ToJsonString();
        for (var cut = 1; cut <= 10; cut++) yield return Json("signup: truncated JSON", "/api/signups", text[..(text.Length * cut / 11)]);
        (string Field, JsonNode? Value)[] faults =
        [
            ("user_id", 5), ("user_id", null), ("user_id", ""), ("phone_number", new JsonArray()), ("phone_number", null), ("phone_number", "12345"),
            ("phone_number", "+1 666 999 0001"), ("phone_number", "tel:+16669990001"), ("phone_number", ""), ("signup_mode", 3),
            ("metadata", "x"), ("metadata", new JsonObject { ["first_name"] = 1 }), ("metadata", new JsonArray()), ("nickname", "x"),
        ];
        foreach (var (field, value) in faults)
        {
            var body = (JsonObject)valid.DeepClone();
            body[field] = value?.DeepClone();
            yield return Json($"signup: {field} wrong", "/api/signups", body.ToJsonString());
        }
        yield return Json("signup: not an object", "/api/signups", "[]");
        yield return Json("signup: a string", "/api/signups", "\"+16669990001\"");
    }

    private IEnumerable<BadInput> Agencies()
    {
        string[] agencies =
        [
            "{}", """{"name": ""}""", $$"""{"name": "{{new string('a', 201)}}", "ultravox_api_key": "k"}""", """{"name": 5}""",
            """{"name": "A", "ultravox_api_key": 5}""", """{"name": "A", "ultravox_key": "k"}""", """{"name": "A",""", "null",
        ];
        foreach (var body in agencies) yield return Json("agency: invalid", "/api/agencies", body);
        string[] agents =
        [
            """{"ultravox_agent_id": "not-a-uuid", "ultravox_agent_name": "A", "from_number": "+15550000000"}""",
            $$"""{"ultravox_agent_id": "{{DrillWorkload.AgentId}}", "ultravox_agent_name": "A", "from_number": "555"}""",
            $$"""{"ultravox_agent_id": "{{DrillWorkload.AgentId}}", "ultravox_agent_name": "A"}""",
            $$"""{"ultravox_agent_id": "{{DrillWorkload.AgentId}}", "ultravox_agent_name": 7, "from_number": "+15550000000"}""",
            """{"ultravox_agent_id": """,
        ];
        foreach (var body in agents) yield return Json("agent: invalid", $"/api/agencies/{agencyId}/agents", body);
        yield return Json("agent: unknown agency", "/api/agencies/999999999/agents",
            $$"""{"ultravox_agent_id": "{{DrillWorkload.AgentId}}", "ultravox_agent_name": "A", "from_number": "+15550000000"}""");
        yield return Json("agency key: wrong type", $"/api/agencies/{agencyId}/ultravox-key", """{"ultravox_api_key": 5}""", HttpMethod.Put);
    }

    private IEnumerable<BadInput> Keys()
    {
        var valid = ValidBatch().ToJsonString();
        foreach (var key in new[] { null, "", "wrong-key", ApiKey + "x", ApiKey.ToUpperInvariant() })
            yield return new BadInput("api: wrong key", true, door =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, $"{door}/api/batches") { Content = new StringContent(valid, Encoding.UTF8, "application/json") };
                if (key is not null) request.Headers.TryAddWithoutValidation("X-Api-Key", key);
                return request;
            });
    }

    private IEnumerable<BadInput> UltravoxWebhooks()
    {
        var ultravox = providers.Ultravox;
        var bodies = ultravox.WebhookDeliveries.Select(d => d.Body).Distinct().Take(10).ToList();
        if (bodies.Count == 0)
            bodies.Add("{\"event\":\"call.ended\",\"call\":{\"callId\":\"" + Guid.NewGuid() + "\",\"metadata\":{\"batch_id\":\"" + batch.Id
                + "\",\"contact_id\":\"1\",\"attempt\":\"1\"}}}");
        var now = DateTimeOffset.UtcNow;
        string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        string Sign(string body, string timestamp, string secret) => UltravoxSignature.Sign(Encoding.UTF8.GetBytes(body), timestamp, secret);
        for (var i = 0; i < 10; i++)
        {
            var body = bodies[i % bodies.Count];
            yield return Webhook("ultravox: forged signature", body, Stamp(now), Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
            yield return Webhook("ultravox: signed with another secret", body, Stamp(now), Sign(body, Stamp(now), "not-the-secret"));
            var past = Stamp(now - TimeSpan.FromMinutes(10 + i));
            yield return Webhook("ultravox: replayed from the past", body, past, Sign(body, past, ultravox.WebhookSecret));
            if (i < 5)
            {
                var future = Stamp(now + TimeSpan.FromMinutes(10));
                yield return Webhook("ultravox: from the future", body, future, Sign(body, future, ultravox.WebhookSecret));
                yield return Webhook("ultravox: no signature", body, Stamp(now), null);
                yield return Webhook("ultravox: no timestamp", body, null, Sign(body, Stamp(now), ultravox.WebhookSecret));
                yield return Webhook("ultravox: signature of another body", body + " ", Stamp(now), Sign(body, Stamp(now), ultravox.WebhookSecret));
                var garbage = body[..(body.Length / 2)];
                yield return Webhook("ultravox: signed garbage", garbage, Stamp(now), Sign(garbage, Stamp(now), ultravox.WebhookSecret), fresh: true);
            }
        }
    }

    // fresh: the timestamp and signature are made when sent, so only the body is wrong.
    private BadInput Webhook(string kind, string body, string? timestamp, string? signature, bool fresh = false) => new(kind, false, door =>
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{door}/webhooks/ultravox") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (fresh)
        {
            timestamp = DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            signature = UltravoxSignature.Sign(Encoding.UTF8.GetBytes(body), timestamp, providers.Ultravox.WebhookSecret);
        }
        if (timestamp is not null) request.Headers.TryAddWithoutValidation(UltravoxEmulation.TimestampHeader, timestamp);
        if (signature is not null) request.Headers.TryAddWithoutValidation(UltravoxEmulation.SignatureHeader, signature);
        return request;
    });

    private IEnumerable<BadInput> TwilioCallbacks()
    {
        var twilio = providers.Twilio;
        KeyValuePair<string, string>[] Form(string status, int sequence) =>
        [
            new("CallSid", "CA" + Guid.NewGuid().ToString("N")), new("AccountSid", twilio.AccountSid), new("CallStatus", status),
            new("SequenceNumber", sequence.ToString(CultureInfo.InvariantCulture)), new("To", "+16669990001"), new("From", DrillProviders.TwilioNumber),
        ];
        for (var i = 0; i < 10; i++)
        {
            var form = Form(i % 2 == 0 ? "completed" : "busy", 90 + i);
            var path = $"/webhooks/twilio/status?job={signupJobId}&attempt=1";
            yield return Callback("twilio: forged signature", path, form, _ => Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
            yield return Callback("twilio: signed for another job", path, form,
                door => TwilioCallbackSignature.Sign(twilio.AuthToken, $"{door}/webhooks/twilio/status?job={signupJobId + 1}&attempt=1", form));
            yield return Callback("twilio: signed with another token", path, form, door => TwilioCallbackSignature.Sign("not-the-token", door + path, form));
            if (i < 5)
            {
                yield return Callback("twilio: no signature", path, form, _ => null);
                yield return Callback("twilio: signed, no job in the URL", "/webhooks/twilio/status", form,
                    door => TwilioCallbackSignature.Sign(twilio.AuthToken, door + "/webhooks/twilio/status", form));
                yield return new BadInput("twilio: JSON instead of a form", false, door => new HttpRequestMessage(HttpMethod.Post, door + path)
                {
                    Content = new StringContent(JsonSerializer.Serialize(form.ToDictionary(p => p.Key, p => p.Value)), Encoding.UTF8, "application/json"),
                });
                yield return Callback("twilio: TwiML asked with a forged signature", $"/twiml/onboarding/{signupJobId}", form, _ => "forged");
            }
        }
    }

    private static BadInput Callback(string kind, string path, KeyValuePair<string, string>[] form, Func<string, string?> signature) => new(kind, false, door =>
    {
        var request = new HttpRequestMessage(HttpMethod.Post, door + path) { Content = new FormUrlEncodedContent(form) };
        if (signature(door) is { } value) request.Headers.TryAddWithoutValidation(TwilioCallbackSignature.HeaderName, value);
        return request;
    });

    private static BadInput Json(string kind, string path, string body, HttpMethod? method = null) => new(kind, true, door =>
        Authorized(new HttpRequestMessage(method ?? HttpMethod.Post, door + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));

    private static BadInput Csv(string kind, string path, byte[] body) => new(kind, true, door =>
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return Authorized(new HttpRequestMessage(HttpMethod.Post, door + path) { Content = content });
    });

    private static HttpRequestMessage Authorized(HttpRequestMessage request)
    {
        request.Headers.TryAddWithoutValidation("X-Api-Key", ApiKey);
        return request;
    }
}
