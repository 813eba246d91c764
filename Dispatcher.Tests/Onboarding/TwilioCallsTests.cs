using System.Diagnostics;
using System.Text;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Testing;
using Dispatcher.Web.Telephony.Emulation;
using Microsoft.Extensions.Time.Testing;
using Microsoft.AspNetCore.WebUtilities;

namespace Dispatcher.Tests.Onboarding;

public sealed class TwilioCallsTests : IAsyncLifetime
{
    private const string From = "+15559990000";
    private const string To = "+15550000001";
    // Nothing listens on the discard port: the fake's callbacks fail at once and stay out of these tests.
    private const string StatusCallback = "http://127.0.0.1:9/webhooks/twilio/status?contact=c-1";
    private const string TwimlUrl = "http://127.0.0.1:9/twiml/onboarding?contact=c-1";
    // Generous: the whole suite shares two cores, and a slow answer must not pass for a hang.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private TwilioEmulation _fake = null!;
    private TwilioCalls _client = null!;

    public async Task InitializeAsync()
    {
        _fake = await TwilioEmulation.StartAsync();
        _client = new TwilioCalls(Options(), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _fake.DisposeAsync();
    }

    private TwilioOptions Options() => new()
    {
        BaseUrl = _fake.BaseUrl,
        AccountSid = _fake.AccountSid,
        AuthToken = _fake.AuthToken,
        FromNumber = From,
        RequestTimeout = Timeout,
    };

    private static CreateTwilioCall Call(string to = To) => new(to, TwimlUrl, StatusCallback);

    [Fact]
    public async Task A_201_is_Created_with_the_call_sid_status_to_and_start_time()
    {
        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        var created = Assert.IsType<TwilioCallOutcome.Created>(outcome);
        Assert.Equal(Assert.Single(_fake.Calls).Sid, created.Call.Sid);
        Assert.Matches("^CA[0-9a-f]{32}$", created.Call.Sid);
        Assert.Equal("queued", created.Call.Status);
        Assert.Equal(To, created.Call.To);
        Assert.NotNull(created.Call.StartTime);
    }

    [Fact]
    public async Task Call_creation_posts_a_form_to_the_accounts_Calls_json_asking_for_json()
    {
        await _client.CreateCallAsync(Call(), CancellationToken.None);

        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/2010-04-01/Accounts/{_fake.AccountSid}/Calls.json", request.PathAndQuery);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"]);
        Assert.Equal("application/json", request.Headers["Accept"]);
    }

    [Fact]
    public async Task Basic_auth_is_the_account_sid_and_auth_token_by_default()
    {
        await _client.CreateCallAsync(Call(), CancellationToken.None);

        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_fake.AccountSid}:{_fake.AuthToken}"));
        Assert.Equal(expected, Assert.Single(_fake.Requests).Headers["Authorization"]);
        Assert.Equal(_fake.AccountSid, Assert.Single(_fake.CreateRequests).AuthUser);
    }

    [Fact]
    public async Task With_an_api_key_basic_auth_is_the_key_pair_and_the_account_sid_stays_in_the_path()
    {
        using var client = new TwilioCalls(
            Options() with { AuthToken = "", ApiKeySid = _fake.ApiKeySid, ApiKeySecret = _fake.ApiKeySecret }, TimeProvider.System);

        var outcome = await client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.IsType<TwilioCallOutcome.Created>(outcome);
        var request = Assert.Single(_fake.Requests);
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_fake.ApiKeySid}:{_fake.ApiKeySecret}"));
        Assert.Equal(expected, request.Headers["Authorization"]);
        Assert.Equal($"/2010-04-01/Accounts/{_fake.AccountSid}/Calls.json", request.PathAndQuery);
    }

    [Fact]
    public async Task The_form_carries_the_numbers_the_urls_POST_methods_and_each_progress_event_as_its_own_field()
    {
        await _client.CreateCallAsync(Call(), CancellationToken.None);

        KeyValuePair<string, string>[] expected =
        [
            new("To", To),
            new("From", From),
            new("Url", TwimlUrl),
            new("Method", "POST"),
            new("StatusCallback", StatusCallback),
            new("StatusCallbackMethod", "POST"),
            new("StatusCallbackEvent", "answered"),
            new("StatusCallbackEvent", "completed"),
        ];
        // The SDK's field order is its own; the events keep theirs.
        Assert.Equal(expected.OrderBy(f => f.Key, StringComparer.Ordinal), Assert.Single(_fake.Requests).Form.OrderBy(f => f.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task MachineDetection_and_Timeout_are_sent_when_given()
    {
        await _client.CreateCallAsync(Call() with { MachineDetection = "Enable", TimeoutSeconds = 25 }, CancellationToken.None);

        var request = Assert.Single(_fake.Requests);
        Assert.Equal(["Enable"], request.FormValues("MachineDetection"));
        Assert.Equal(["25"], request.FormValues("Timeout"));
    }

    [Theory]
    [InlineData("https://example.com/twiml", "/relative/status", null)]
    [InlineData("ftp://example.com/twiml", "https://example.com/status", null)]
    [InlineData("https://example.com/twiml", "https://example.com/status", 601)]
    [InlineData("https://example.com/twiml", "https://example.com/status", 0)]
    public async Task Malformed_calls_are_refused_before_anything_is_sent(string url, string statusCallback, int? timeoutSeconds)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            _client.CreateCallAsync(new CreateTwilioCall(To, url, statusCallback, null, timeoutSeconds), CancellationToken.None));

        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task A_429_with_code_20429_is_Retryable_with_no_wait_when_Twilio_names_none()
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit());

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(new TwilioCallOutcome.Retryable(429, 20429, "Too Many Requests", null), outcome);
        Assert.Empty(_fake.Calls);
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_Retryable_after_that_long()
    {
        _fake.RespondNext(new EmulatedAnswer.RateLimit(RetryAfter: "3"));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<TwilioCallOutcome.Retryable>(outcome).RetryAfter);
    }

    [Fact]
    public async Task A_Retry_After_date_is_a_wait_until_then_on_the_clients_clock_and_never_negative()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var client = new TwilioCalls(Options(), clock);
        _fake.RespondNext(
            new EmulatedAnswer.RateLimit(RetryAfter: "Tue, 01 Jan 2030 12:01:30 GMT"),
            new EmulatedAnswer.RateLimit(RetryAfter: "Mon, 01 Jan 2001 00:00:00 GMT"));

        var later = await client.CreateCallAsync(Call(), CancellationToken.None);
        var past = await client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(90), Assert.IsType<TwilioCallOutcome.Retryable>(later).RetryAfter);
        Assert.Equal(TimeSpan.Zero, Assert.IsType<TwilioCallOutcome.Retryable>(past).RetryAfter);
    }

    [Fact]
    public async Task Code_20429_is_Retryable_whatever_the_status()
    {
        _fake.RespondNext(new EmulatedAnswer.Reject(400, TwilioEmulation.ErrorBody(400, 20429, "Too Many Requests")));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(new TwilioCallOutcome.Retryable(400, 20429, "Too Many Requests", null), outcome);
    }

    [Fact]
    public async Task A_400_with_21211_is_Rejected_with_Twilios_code_and_message()
    {
        _fake.RespondNext(new EmulatedAnswer.Reject(400, TwilioEmulation.ErrorBody(400, 21211, "The 'To' number is not a valid phone number.")));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(new TwilioCallOutcome.Rejected(400, 21211, "The 'To' number is not a valid phone number."), outcome);
    }

    [Fact]
    public async Task Wrong_credentials_are_Rejected_20003_and_the_401_challenge_does_not_resend_the_post()
    {
        using var client = new TwilioCalls(Options() with { AuthToken = "not-the-token" }, TimeProvider.System);

        var outcome = await client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Equal(new TwilioCallOutcome.Rejected(401, 20003, "Authenticate"), outcome);
        Assert.Single(_fake.Requests);
    }

    [Fact]
    public async Task A_503_is_Retryable()
    {
        _fake.RespondNext(new EmulatedAnswer.ServerError(503));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        var retryable = Assert.IsType<TwilioCallOutcome.Retryable>(outcome);
        Assert.Equal(503, retryable.Status);
        Assert.Equal(20500, retryable.Code);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    public async Task Another_5xx_may_hide_a_placed_call_so_it_is_Unknown(int status)
    {
        _fake.RespondNext(new EmulatedAnswer.ServerError(status));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.Contains(status.ToString(), Assert.IsType<TwilioCallOutcome.Unknown>(outcome).Reason);
    }

    [Fact]
    public async Task A_server_that_hangs_past_the_timeout_gives_Unknown_within_about_the_timeout()
    {
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30)));

        var watch = Stopwatch.StartNew();
        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);

        Assert.StartsWith("timeout", Assert.IsType<TwilioCallOutcome.Unknown>(outcome).Reason);
        Assert.InRange(watch.Elapsed, Timeout - TimeSpan.FromMilliseconds(50), Timeout + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task The_timeout_runs_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = new TwilioCalls(Options() with { RequestTimeout = TimeSpan.FromSeconds(30) }, clock);
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromMinutes(5)));

        var pending = client.CreateCallAsync(Call(), CancellationToken.None);
        while (_fake.CreateRequests.Count == 0) await Task.Delay(10);
        clock.Advance(TimeSpan.FromSeconds(30));

        var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("timeout", Assert.IsType<TwilioCallOutcome.Unknown>(outcome).Reason);
    }

    [Fact]
    public async Task A_timed_out_creation_may_still_have_placed_the_call_and_FindCalls_finds_it()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30), CreateCall: true));

        var outcome = await _client.CreateCallAsync(Call(), CancellationToken.None);
        Assert.IsType<TwilioCallOutcome.Unknown>(outcome);

        // The fake places the call once it notices the client hung up.
        var found = await Eventually.Reaches(() => _client.FindCallsAsync(To, before, CancellationToken.None), calls => calls.Count > 0, _ => "FindCalls found no call");
        Assert.Equal(Assert.Single(_fake.Calls).Sid, Assert.Single(found).Sid);
    }

    [Fact]
    public async Task A_dropped_connection_is_Unknown_and_the_post_is_never_resent()
    {
        // The first call leaves a pooled connection, the kind HttpClient may silently retry on.
        await _client.CreateCallAsync(Call(to: "+15550000001"), CancellationToken.None);
        _fake.RespondNext(new EmulatedAnswer.Drop(CreateCall: true));

        var outcome = await _client.CreateCallAsync(Call(to: "+15550000002"), CancellationToken.None);

        Assert.StartsWith("no answer", Assert.IsType<TwilioCallOutcome.Unknown>(outcome).Reason);
        Assert.Single(_fake.CreateRequestsTo("+15550000002"));
        Assert.Equal(2, _fake.Calls.Count);
    }

    [Fact]
    public async Task A_caller_cancellation_throws_instead_of_becoming_Unknown()
    {
        _fake.RespondNext(new EmulatedAnswer.Hang(TimeSpan.FromSeconds(30)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.CreateCallAsync(Call(), cts.Token));
    }

    [Fact]
    public async Task The_auth_token_and_key_secret_appear_in_no_outcome_error_or_printed_options()
    {
        _fake.RespondNext(new EmulatedAnswer.ServerError(), new EmulatedAnswer.Drop());
        var outcomes = new List<TwilioCallOutcome>();
        for (var i = 0; i < 2; i++) outcomes.Add(await _client.CreateCallAsync(Call(), CancellationToken.None));
        var keyed = Options() with { ApiKeySid = _fake.ApiKeySid, ApiKeySecret = "wrong-key-secret" };
        using var refused = new TwilioCalls(keyed, TimeProvider.System);
        outcomes.Add(await refused.CreateCallAsync(Call(), CancellationToken.None));
        var lookUp = await Assert.ThrowsAsync<TwilioException>(() =>
            refused.FindCallsAsync(To, DateTimeOffset.UtcNow, CancellationToken.None));

        Assert.Equal(401, Assert.IsType<TwilioCallOutcome.Rejected>(outcomes[^1]).Status);
        foreach (var secret in new[] { _fake.AuthToken, "wrong-key-secret" })
        {
            Assert.All(outcomes, o => Assert.DoesNotContain(secret, o.ToString()));
            Assert.DoesNotContain(secret, lookUp.ToString());
            Assert.DoesNotContain(secret, keyed.ToString());
        }
    }

    [Fact]
    public async Task FindCalls_finds_the_created_call_by_To_and_start_date()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var mine = Assert.IsType<TwilioCallOutcome.Created>(await _client.CreateCallAsync(Call(to: "+15550000042"), CancellationToken.None));
        await _client.CreateCallAsync(Call(to: "+15550000043"), CancellationToken.None);

        var found = await _client.FindCallsAsync("+15550000042", before, CancellationToken.None);

        Assert.Equal(mine.Call.Sid, Assert.Single(found).Sid);
        Assert.Equal("+15550000042", found[0].To);
        var request = _fake.Requests[^1];
        Assert.Equal("GET", request.Method);
        Assert.StartsWith($"/2010-04-01/Accounts/{_fake.AccountSid}/Calls.json?", request.PathAndQuery);
        // Parsed, as Twilio does: the hex case of the escapes is the encoder's business.
        var query = QueryHelpers.ParseQuery(request.PathAndQuery[request.PathAndQuery.IndexOf('?')..]);
        Assert.Equal("+15550000042", query["To"]);
        // The SDK writes the date as midnight UTC; Twilio filters by date.
        Assert.Equal(before.UtcDateTime.ToString("yyyy-MM-dd") + "T00:00:00Z", query["StartTime>"]);
        Assert.Equal("100", query["PageSize"]);
    }

    [Fact]
    public async Task FindCalls_drops_calls_started_earlier_on_the_same_day()
    {
        // A fixed midday clock keeps both times on one UTC date, which is all Twilio can filter on.
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 12, 0, 0, TimeSpan.Zero));
        await using var fake = await TwilioEmulation.StartAsync(clock);
        using var client = new TwilioCalls(Options() with { BaseUrl = fake.BaseUrl }, clock);
        await client.CreateCallAsync(Call(), CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(5));
        var later = Assert.IsType<TwilioCallOutcome.Created>(await client.CreateCallAsync(Call(), CancellationToken.None));

        var found = await client.FindCallsAsync(To, clock.GetUtcNow().AddMinutes(-1), CancellationToken.None);

        Assert.Equal(later.Call.Sid, Assert.Single(found).Sid);
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 12, 5, 0, TimeSpan.Zero), found[0].StartTime);
    }

    [Fact]
    public async Task FindCalls_follows_next_page_uri()
    {
        _fake.MaxPageSize = 2;
        for (var i = 0; i < 5; i++) await _client.CreateCallAsync(Call(), CancellationToken.None);

        var found = await _client.FindCallsAsync(To, DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);

        Assert.Equal(_fake.Calls.Select(c => c.Sid).Order(), found.Select(c => c.Sid).Order());
        Assert.Equal(3, _fake.Requests.Count(r => r.Method == "GET"));
    }

    [Fact]
    public async Task FindCalls_reads_at_most_10_pages()
    {
        _fake.MaxPageSize = 1;
        for (var i = 0; i < 12; i++) await _client.CreateCallAsync(Call(), CancellationToken.None);

        var found = await _client.FindCallsAsync(To, DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);

        Assert.Equal(10, found.Count);
        Assert.Equal(10, _fake.Requests.Count(r => r.Method == "GET"));
    }

    [Fact]
    public async Task FindCalls_throws_with_the_status_and_code_when_Twilio_refuses()
    {
        using var client = new TwilioCalls(Options() with { AuthToken = "not-the-token" }, TimeProvider.System);

        var error = await Assert.ThrowsAsync<TwilioException>(() =>
            client.FindCallsAsync(To, DateTimeOffset.UtcNow, CancellationToken.None));

        Assert.Equal(401, error.Status);
        Assert.Equal(20003, error.Code);
    }
}
