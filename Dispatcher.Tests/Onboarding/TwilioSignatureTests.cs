using System.Collections.Specialized;
using System.Globalization;
using System.Net;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Telephony.Emulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Twilio.Security;

namespace Dispatcher.Tests.Onboarding;

/// <summary>The emulation signs its callbacks as Twilio does, and the SDK's validator (what the app uses) accepts them.</summary>
public sealed class TwilioSignatureTests
{
    [Fact]
    public void The_emulation_signs_Twilios_documented_example_to_its_published_value_which_the_SDK_validates()
    {
        // Twilio's documented example (Security > Validating requests).
        const string token = "12345", url = "https://mycompany.com/myapp.php?foo=1&bar=2", published = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        KeyValuePair<string, string>[] form =
        [
            new("To", "+18005551212"), new("From", "+12349013030"), new("Digits", "1234"), new("Caller", "+12349013030"), new("CallSid", "CA1234567890ABCDE"),
        ];

        Assert.Equal(published, TwilioCallbackSignature.Sign(token, url, form));
        Assert.True(new RequestValidator(token).Validate(url, ToCollection(form), published));
        Assert.False(new RequestValidator(token).Validate(url.Replace("bar=2", "bar=3"), ToCollection(form), published));
    }

    private static NameValueCollection ToCollection(IEnumerable<KeyValuePair<string, string>> form)
    {
        var collection = new NameValueCollection();
        foreach (var (name, value) in form) collection.Add(name, value);
        return collection;
    }

    // The fake's status callbacks, checked by a real receiver that validates as the app would.

    [Fact]
    public async Task The_fakes_callbacks_are_signed_over_the_exact_status_callback_url_and_verify()
    {
        await using var run = await CallbackRun.StartAsync();

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal(2, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(204, d.Status));
        Assert.All(deliveries, d => Assert.Equal(run.StatusCallback, d.Url));
        lock (run.Receiver.Checks) Assert.Equal([true, true], run.Receiver.Checks.Select(c => c.Valid));
    }

    [Fact]
    public async Task A_completed_call_reports_in_progress_then_completed_in_sequence()
    {
        await using var run = await CallbackRun.StartAsync();

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal(["in-progress", "completed"], deliveries.Select(d => d.CallStatus));
        Assert.Equal([0, 1], deliveries.Select(d => d.SequenceNumber));
        var completed = deliveries[^1].Form.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(run.Fake.Calls.Single().Sid, completed["CallSid"]);
        Assert.Equal(run.Fake.AccountSid, completed["AccountSid"]);
        Assert.Equal("+15550000001", completed["To"]);
        Assert.Equal("+15559990000", completed["From"]);
        Assert.Equal("1", completed["CallDuration"]);
        Assert.Equal("call-progress-events", completed["CallbackSource"]);
        Assert.Equal("2010-04-01", completed["ApiVersion"]);
        Assert.True(DateTimeOffset.TryParseExact(completed["Timestamp"], "r", CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        Assert.DoesNotContain("AnsweredBy", completed.Keys);
        Assert.Equal("completed", run.Fake.Calls.Single().Status);
    }

    [Fact]
    public async Task A_busy_call_is_never_answered_and_ends_busy_without_a_duration()
    {
        await using var run = await CallbackRun.StartAsync();
        run.Fake.CallOutcome = _ => "busy";

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal(["busy"], deliveries.Select(d => d.CallStatus));
        Assert.Equal([0], deliveries.Select(d => d.SequenceNumber));
        Assert.DoesNotContain(deliveries[^1].Form, p => p.Key == "CallDuration");
    }

    [Fact]
    public async Task Shuffled_callbacks_arrive_newest_first()
    {
        await using var run = await CallbackRun.StartAsync();
        run.Fake.ShuffleCallbacks = true;

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal([1, 0], deliveries.Select(d => d.SequenceNumber));
        Assert.All(deliveries, d => Assert.Equal(204, d.Status));
    }

    [Fact]
    public async Task AnsweredBy_is_reported_once_answered_when_machine_detection_was_asked_for()
    {
        await using var run = await CallbackRun.StartAsync();
        run.Fake.AnsweredBy = _ => "machine_start";

        var deliveries = await run.PlaceCallAsync(machineDetection: "Enable");

        Assert.Equal(["machine_start", "machine_start"],
            deliveries.Select(d => d.Form.Where(p => p.Key == "AnsweredBy").Select(p => p.Value).FirstOrDefault()));
    }

    [Fact]
    public async Task A_replayed_callback_verifies_but_forged_tampered_and_unsigned_ones_do_not()
    {
        await using var run = await CallbackRun.StartAsync();
        var completed = (await run.PlaceCallAsync())[^1];
        var tampered = completed.Form.Select(p => p.Key == "CallStatus" ? new KeyValuePair<string, string>(p.Key, "failed") : p).ToArray();

        var replayed = await run.Fake.SendCallbackAsync(completed.Url, completed.Form);
        var forged = await run.Fake.SendCallbackAsync(completed.Url, completed.Form, TwilioCallbackSignature.Sign("another-token", completed.Url, completed.Form));
        var altered = await run.Fake.SendCallbackAsync(completed.Url, tampered, completed.Signature);
        var unsigned = await run.Fake.SendCallbackAsync(completed.Url, completed.Form, signature: "");

        Assert.Equal([204, 403, 403, 403], new[] { replayed, forged, altered, unsigned });
    }

    private sealed class CallbackRun : IAsyncDisposable
    {
        private CallbackRun(TwilioEmulation fake, Receiver receiver, TwilioCalls client)
        {
            Fake = fake;
            Receiver = receiver;
            Client = client;
        }

        public TwilioEmulation Fake { get; }
        public Receiver Receiver { get; }
        public TwilioCalls Client { get; }

        // A query string on purpose: Twilio signs the URL it was given, query included.
        public string StatusCallback => Receiver.BaseUrl + "/webhooks/twilio/status?contact=c-1&attempt=2";

        public static async Task<CallbackRun> StartAsync()
        {
            var fake = await TwilioEmulation.StartAsync();
            fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
            var receiver = await Receiver.StartAsync(fake.AuthToken);
            var client = new TwilioCalls(
                new TwilioOptions { BaseUrl = fake.BaseUrl, AccountSid = fake.AccountSid, AuthToken = fake.AuthToken, FromNumber = "+15559990000" },
                TimeProvider.System);
            return new CallbackRun(fake, receiver, client);
        }

        /// <summary>Places one call and returns its callbacks once all are delivered, in delivery order.</summary>
        public async Task<IReadOnlyList<TwilioCallbackDelivery>> PlaceCallAsync(string? machineDetection = null)
        {
            var outcome = await Client.CreateCallAsync(
                new CreateTwilioCall("+15550000001", Receiver.BaseUrl + "/twiml/onboarding", StatusCallback, machineDetection),
                CancellationToken.None);
            var sid = Assert.IsType<TwilioCallOutcome.Created>(outcome).Call.Sid;
            await Fake.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
            return Fake.CallbackDeliveries.Where(d => d.CallSid == sid).ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Fake.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }

    /// <summary>Validates each callback as the app does, with the SDK's validator: URL rebuilt from the public base, path and query as received.</summary>
    private sealed class Receiver(WebApplication app, string baseUrl) : IAsyncDisposable
    {
        public string BaseUrl { get; } = baseUrl;
        public List<(bool Valid, IReadOnlyList<KeyValuePair<string, string>> Form)> Checks { get; } = [];

        public static async Task<Receiver> StartAsync(string authToken)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddRoutingCore();
            var app = builder.Build();
            Receiver? receiver = null;
            app.MapPost("/webhooks/twilio/status", (RequestDelegate)(async context =>
            {
                var form = await context.Request.ReadFormAsync();
                var pairs = form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? ""))).ToArray();
                var url = receiver!.BaseUrl + context.Request.Path + context.Request.QueryString;
                var signature = context.Request.Headers[TwilioCallbackSignature.HeaderName].ToString();
                var valid = signature.Length > 0 && new RequestValidator(authToken).Validate(url, ToCollection(pairs), signature);
                lock (receiver.Checks) receiver.Checks.Add((valid, pairs));
                context.Response.StatusCode = valid ? 204 : 403;
            }));
            await app.StartAsync();
            receiver = new Receiver(app, app.Urls.Single().TrimEnd('/'));
            return receiver;
        }

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
