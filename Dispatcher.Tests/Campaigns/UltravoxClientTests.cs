using System.Diagnostics;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Testing;
using Dispatcher.Web.Telephony.Emulation;
using Microsoft.Extensions.Time.Testing;

namespace Dispatcher.Tests.Campaigns;

public sealed class UltravoxClientTests : IAsyncLifetime
{
    private const string ApiKey = "agency-key-1";
    private const string AgentId = "6f1d3f4e-8f3a-4c55-9a2e-0d2b9a1c7e11";
    // Generous: the whole suite shares two cores, and a slow answer must not pass for a hang.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private UltravoxEmulation _fake = null!;
    private UltravoxClient _client = null!;

    public async Task InitializeAsync()
    {
        _fake = await UltravoxEmulation.StartAsync();
        _client = new UltravoxClient(new UltravoxOptions { BaseUrl = _fake.BaseUrl, RequestTimeout = Timeout }, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _fake.DisposeAsync();
    }

    private static StartCallRequest Request(string contactId = "c-1", string to = "+15550000001") => new(
        ApiKey,
        AgentId,
        to,
        "+15559990000",
        new Dictionary<string, string> { ["batch_id"] = "b-7", ["contact_id"] = contactId },
        new Dictionary<string, object?> { ["name"] = "Sam", ["visits"] = 3 });

    [Fact]
    public async Task A_201_is_Created_with_the_call_id_and_echoed_metadata()
    {
        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        var created = Assert.IsType<CreateCallOutcome.Created>(outcome);
        var call = Assert.Single(_fake.Calls);
        Assert.Equal(call.CallId, created.Call.CallId);
        Assert.True(Guid.TryParse(created.Call.CallId, out _));
        Assert.Equal("c-1", created.Call.Metadata["contact_id"]);
        Assert.NotNull(created.Call.Created);
        Assert.Null(created.Call.Ended);
    }

    [Fact]
    public async Task Call_creation_posts_to_the_agents_calls_path_with_the_key_header()
    {
        await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/api/agents/{AgentId}/calls", request.PathAndQuery);
        Assert.Equal(ApiKey, request.Headers["X-API-Key"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"]);
    }

    [Fact]
    public async Task Call_creation_sends_telnyx_outgoing_numbers_agent_first_metadata_and_template_context()
    {
        await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        using var body = JsonDocument.Parse(Assert.Single(_fake.Requests).Body);
        var root = body.RootElement;
        var outgoing = root.GetProperty("medium").GetProperty("telnyx").GetProperty("outgoing");
        Assert.Equal("+15550000001", outgoing.GetProperty("to").GetString());
        Assert.Equal("+15559990000", outgoing.GetProperty("from").GetString());
        var agent = root.GetProperty("firstSpeakerSettings").GetProperty("agent");
        Assert.Equal(JsonValueKind.Object, agent.ValueKind);
        Assert.Empty(agent.EnumerateObject());
        Assert.Equal("b-7", root.GetProperty("metadata").GetProperty("batch_id").GetString());
        Assert.Equal("c-1", root.GetProperty("metadata").GetProperty("contact_id").GetString());
        Assert.Equal("Sam", root.GetProperty("templateContext").GetProperty("name").GetString());
        Assert.Equal(3, root.GetProperty("templateContext").GetProperty("visits").GetInt32());
        Assert.Equal(["medium", "firstSpeakerSettings", "metadata", "templateContext"], root.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Metadata_keys_with_the_reserved_ultravox_prefix_are_refused_before_sending()
    {
        var request = Request() with { Metadata = new Dictionary<string, string> { ["ultravox.batch"] = "x" } };

        await Assert.ThrowsAsync<ArgumentException>(() => _client.StartAgentCallAsync(request, CancellationToken.None));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task A_429_with_Retry_After_seconds_is_RateLimited_for_that_long()
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit(429, "7"));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.RateLimited(429, TimeSpan.FromSeconds(7)), outcome);
        Assert.Empty(_fake.Calls);
    }

    [Fact]
    public async Task A_429_with_an_HTTP_date_waits_until_that_date_on_the_clients_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var client = new UltravoxClient(new UltravoxOptions { BaseUrl = _fake.BaseUrl, RequestTimeout = TimeSpan.FromSeconds(5) }, clock);
        _fake.RespondNext(new EmulatedAnswer.RateLimit(429, "Tue, 01 Jan 2030 12:01:30 GMT"));

        var outcome = await client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.RateLimited(429, TimeSpan.FromSeconds(90)), outcome);
    }

    [Fact]
    public async Task A_Retry_After_date_in_the_past_means_retry_now_never_a_negative_wait()
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit(429, "Mon, 01 Jan 2001 00:00:00 GMT"));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.RateLimited(429, TimeSpan.Zero), outcome);
    }

    [Fact]
    public async Task A_503_is_RateLimited_too()
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit(503, "2"));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.RateLimited(503, TimeSpan.FromSeconds(2)), outcome);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("soon")]
    public async Task A_rate_limit_without_a_usable_Retry_After_waits_30_seconds(string? retryAfter)
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit(429, retryAfter));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.RateLimited(429, TimeSpan.FromSeconds(30)), outcome);
    }

    [Fact]
    public async Task A_400_is_Rejected_with_the_raw_body()
    {
        _fake.RespondNext(new EmulatedAnswer.Reject(400, """{"medium":["Telnyx is not configured"]}"""));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(new CreateCallOutcome.Rejected(400, """{"medium":["Telnyx is not configured"]}"""), outcome);
    }

    [Fact]
    public async Task A_rejection_body_is_kept_to_2000_characters()
    {
        _fake.RespondNext(new EmulatedAnswer.Reject(422, new string('x', 5_000)));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Equal(2_000, Assert.IsType<CreateCallOutcome.Rejected>(outcome).Body.Length);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    public async Task A_5xx_other_than_503_is_Unknown(int status)
    {
        _fake.RespondNext(new EmulatedAnswer.ServerError(status));

        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.Contains(status.ToString(), Assert.IsType<CreateCallOutcome.Unknown>(outcome).Reason);
    }

    [Fact]
    public async Task A_server_that_hangs_past_the_timeout_gives_Unknown_within_about_the_timeout()
    {
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30)));

        var watch = Stopwatch.StartNew();
        var outcome = await _client.StartAgentCallAsync(Request(), CancellationToken.None);

        Assert.StartsWith("timeout", Assert.IsType<CreateCallOutcome.Unknown>(outcome).Reason);
        Assert.InRange(watch.Elapsed, Timeout - TimeSpan.FromMilliseconds(50), Timeout + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task The_timeout_runs_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = new UltravoxClient(new UltravoxOptions { BaseUrl = _fake.BaseUrl, RequestTimeout = TimeSpan.FromSeconds(30) }, clock);
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromMinutes(5)));

        var pending = client.StartAgentCallAsync(Request(), CancellationToken.None);
        while (_fake.CreateRequests.Count == 0) await Task.Delay(10);
        clock.Advance(TimeSpan.FromSeconds(30));

        var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("timeout", Assert.IsType<CreateCallOutcome.Unknown>(outcome).Reason);
    }

    [Fact]
    public async Task A_timed_out_creation_may_still_have_placed_the_call_and_the_metadata_look_up_finds_it()
    {
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30), CreateCall: true));

        var outcome = await _client.StartAgentCallAsync(Request(contactId: "c-timeout"), CancellationToken.None);
        Assert.IsType<CreateCallOutcome.Unknown>(outcome);

        // The fake places the call once it notices the client hung up.
        var found = await Eventually.Reaches(() => _client.FindCallsByMetadataAsync(ApiKey, "contact_id", "c-timeout", CancellationToken.None),
            calls => calls.Count > 0, _ => "no call found by its metadata");
        Assert.Equal(Assert.Single(_fake.Calls).CallId, Assert.Single(found).CallId);
    }

    [Fact]
    public async Task A_dropped_connection_is_Unknown_and_the_post_is_never_resent()
    {
        // The first call leaves a pooled connection, the kind HttpClient may silently retry on.
        await _client.StartAgentCallAsync(Request(to: "+15550000001"), CancellationToken.None);
        _fake.RespondNext(new EmulatedAnswer.Drop(CreateCall: true));

        var outcome = await _client.StartAgentCallAsync(Request(to: "+15550000002"), CancellationToken.None);

        Assert.IsType<CreateCallOutcome.Unknown>(outcome);
        Assert.Equal(1, _fake.CreateRequestsFor("+15550000002"));
        Assert.Equal(2, _fake.Calls.Count);
    }

    [Fact]
    public async Task A_caller_cancellation_throws_instead_of_becoming_Unknown()
    {
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.StartAgentCallAsync(Request(), cts.Token));
    }

    [Fact]
    public async Task The_api_key_appears_in_no_outcome_or_error_message()
    {
        _fake.RespondNext(new EmulatedAnswer.ServerError(500), new EmulatedAnswer.Drop());
        var outcomes = new List<CreateCallOutcome>();
        for (var i = 0; i < 2; i++) outcomes.Add(await _client.StartAgentCallAsync(Request(), CancellationToken.None));
        _fake.AcceptedApiKeys = new HashSet<string> { "another-key" };

        outcomes.Add(await _client.StartAgentCallAsync(Request(), CancellationToken.None));
        var lookUp = await Assert.ThrowsAsync<UltravoxException>(() =>
            _client.FindCallsByMetadataAsync(ApiKey, "contact_id", "c-1", CancellationToken.None));

        Assert.Equal(401, Assert.IsType<CreateCallOutcome.Rejected>(outcomes[^1]).Status);
        Assert.All(outcomes, o => Assert.DoesNotContain(ApiKey, o.ToString()));
        Assert.DoesNotContain(ApiKey, Request().ToString());
        Assert.DoesNotContain(ApiKey, lookUp.ToString());
    }

    [Fact]
    public async Task FindCallsByMetadata_finds_a_created_call_by_contact_id_and_only_that_one()
    {
        var mine = Assert.IsType<CreateCallOutcome.Created>(await _client.StartAgentCallAsync(Request(contactId: "c-42"), CancellationToken.None));
        await _client.StartAgentCallAsync(Request(contactId: "c-43"), CancellationToken.None);

        var found = await _client.FindCallsByMetadataAsync(ApiKey, "contact_id", "c-42", CancellationToken.None);

        Assert.Equal(mine.Call.CallId, Assert.Single(found).CallId);
        Assert.Equal("b-7", found[0].Metadata["batch_id"]);
        Assert.StartsWith("/api/calls?metadata.contact_id=c-42", _fake.Requests[^1].PathAndQuery);
    }

    [Fact]
    public async Task FindCallsByMetadata_follows_next_pages()
    {
        _fake.ListPageSize = 2;
        for (var i = 0; i < 5; i++) await _client.StartAgentCallAsync(Request(contactId: "c-many"), CancellationToken.None);

        var found = await _client.FindCallsByMetadataAsync(ApiKey, "contact_id", "c-many", CancellationToken.None);

        Assert.Equal(_fake.Calls.Select(c => c.CallId), found.Select(c => c.CallId));
        Assert.Equal(3, _fake.Requests.Count(r => r.Method == "GET"));
    }

    [Fact]
    public async Task FindCallsByMetadata_throws_with_the_status_when_Ultravox_refuses()
    {
        _fake.AcceptedApiKeys = new HashSet<string> { "another-key" };

        var error = await Assert.ThrowsAsync<UltravoxException>(() =>
            _client.FindCallsByMetadataAsync(ApiKey, "contact_id", "c-1", CancellationToken.None));

        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task GetCall_reads_a_call_that_has_ended_with_its_reason()
    {
        _fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
        _fake.EndReason = _ => "unjoined";
        var created = Assert.IsType<CreateCallOutcome.Created>(await _client.StartAgentCallAsync(Request(), CancellationToken.None));
        await _fake.WaitUntilIdleAsync(TimeSpan.FromSeconds(5));

        var call = await _client.GetCallAsync(ApiKey, created.Call.CallId, CancellationToken.None);

        Assert.NotNull(call);
        Assert.Equal("unjoined", call.EndReason);
        Assert.NotNull(call.Ended);
        Assert.Null(call.Joined);
    }

    [Fact]
    public async Task GetCall_of_an_unknown_call_is_null()
    {
        Assert.Null(await _client.GetCallAsync(ApiKey, Guid.NewGuid().ToString(), CancellationToken.None));
    }
}
