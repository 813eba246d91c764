using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dispatcher.Bench.Drill;

/// <summary>One batch of the drill: its agency's own Ultravox key, so the witness counts its live calls and dials apart.</summary>
public sealed record DrillBatch(int Index, long Id, string ApiKey, int CallsPerMinute, int MaxConcurrent, int MaxAttempts);

/// <summary>A signup the service accepted (201, or 200 for the repeat), with the job it named.</summary>
public sealed record AcceptedSignup(string UserId, string PhoneNumber, long JobId);

/// <summary>
/// The drill's work, sent through the front door with the REST API: agencies, agents and batches
/// (all before the first fault, so no batch is created twice by a retried request), then a steady
/// stream of signups, each sent twice, as a double-clicked form would.
/// </summary>
public sealed class DrillWorkload(HttpClient api, DrillPlan plan)
{
    public const string AgentId = "7c1e2a40-3b5d-4f6e-8a9b-0c1d2e3f4a5b";

    public static string ContactNumber(int batch, int contact) => $"+1555{batch:D3}{contact:D4}";

    public async Task<IReadOnlyList<DrillBatch>> CreateBatchesAsync(CancellationToken ct)
    {
        var batches = new List<DrillBatch>();
        for (var i = 0; i < plan.Batches; i++)
        {
            var apiKey = $"drill-key-{i}";
            var agency = await PostAsync("/api/agencies", new { name = $"Drill agency {i}", ultravox_api_key = apiKey }, ct);
            var agencyId = agency["id"]!.GetValue<long>();
            var mapping = await PostAsync($"/api/agencies/{agencyId}/agents",
                new { ultravox_agent_id = AgentId, ultravox_agent_name = "Drill agent", from_number = "+15550000000" }, ct);
            var (cpm, concurrent, attempts) = (plan.CallsPerMinute(i), plan.MaxConcurrent(i), plan.MaxAttempts(i));
            var contacts = Enumerable.Range(0, plan.ContactsPerBatch)
                .Select(c => new { phone_number = ContactNumber(i, c), name = $"Contact {i}-{c}", variables = new Dictionary<string, string> { ["plan"] = "gold" } });
            var created = await PostAsync("/api/batches", new
            {
                agency_id = agencyId,
                agent_mapping_id = mapping["id"]!.GetValue<long>(),
                name = $"Drill batch {i}",
                calls_per_minute = cpm,
                max_concurrent = concurrent,
                max_attempts = attempts,
                contacts,
            }, ct);
            batches.Add(new DrillBatch(i, created["batch"]!["id"]!.GetValue<long>(), apiKey, cpm, concurrent, attempts));
        }
        return batches;
    }

    /// <summary>Signups at the plan's rate until <paramref name="ct"/> ends; each retried until an instance accepts it.</summary>
    public async Task<IReadOnlyList<AcceptedSignup>> StreamSignupsAsync(CancellationToken ct)
    {
        var accepted = new List<AcceptedSignup>();
        var pause = TimeSpan.FromMinutes(1.0 / plan.SignupsPerMinute);
        for (var n = 0; !ct.IsCancellationRequested; n++)
        {
            var signup = new { user_id = $"drill-user-{n}", phone_number = $"+1666{n:D7}", signup_mode = "default" };
            long? jobId = null;
            // Twice, as a double-clicked form: the second answers 200 with the same job.
            for (var copy = 0; copy < 2; copy++)
                jobId = await SignUpAsync(signup, CancellationToken.None) ?? jobId;
            if (jobId is { } id) accepted.Add(new AcceptedSignup(signup.user_id, signup.phone_number, id));
            try { await Task.Delay(pause, ct); }
            catch (OperationCanceledException) { break; }
        }
        return accepted;
    }

    // The signup's job id; null when no instance accepted it within a minute (then it was never accepted).
    private async Task<long?> SignUpAsync(object signup, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await api.PostAsJsonAsync("/api/signups", signup, ct);
                if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                    return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["job_id"]!.GetValue<long>();
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.Delay(500, ct);
        }
        return null;
    }

    private async Task<JsonNode> PostAsync(string path, object body, CancellationToken ct)
    {
        using var response = await api.PostAsJsonAsync(path, body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}
