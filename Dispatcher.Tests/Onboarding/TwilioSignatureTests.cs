using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dispatcher.Jobs.Onboarding.Twilio;
using Dispatcher.Web.Telephony.Emulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Onboarding;

public sealed class TwilioSignatureTests
{
    // Twilio's documented example (Security > Validating requests).
    private const string ExampleToken = "12345";
    private const string ExampleUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
    private const string ExampleSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    private static readonly KeyValuePair<string, string>[] ExampleParameters =
    [
        new("CallSid", "CA1234567890ABCDE"),
        new("Caller", "+12349013030"),
        new("Digits", "1234"),
        new("From", "+12349013030"),
        new("To", "+18005551212"),
    ];

    private static string Hmac(string token, string data) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(data)));

    private static KeyValuePair<string, string>[] With(string name, string value) =>
        ExampleParameters.Select(p => p.Key == name ? new KeyValuePair<string, string>(name, value) : p).ToArray();

    [Fact]
    public void Twilios_documented_example_signs_to_its_published_value()
    {
        Assert.Equal(ExampleSignature, TwilioSignature.Sign(ExampleToken, ExampleUrl, ExampleParameters));
    }

    [Fact]
    public void Twilios_documented_example_validates()
    {
        Assert.True(TwilioSignature.IsValid(ExampleToken, ExampleUrl, ExampleParameters, ExampleSignature));
    }

    [Fact]
    public void Parameters_are_signed_sorted_by_name_whatever_order_they_came_in()
    {
        Assert.Equal(ExampleSignature, TwilioSignature.Sign(ExampleToken, ExampleUrl, ExampleParameters.Reverse()));
    }

    [Fact]
    public void Names_sort_ordinally_so_uppercase_comes_before_lowercase()
    {
        KeyValuePair<string, string>[] parameters = [new("a", "1"), new("B", "2")];

        Assert.Equal(Hmac(ExampleToken, ExampleUrl + "B2a1"), TwilioSignature.Sign(ExampleToken, ExampleUrl, parameters));
    }

    [Fact]
    public void A_repeated_name_keeps_every_pair_sorted_by_value()
    {
        KeyValuePair<string, string>[] parameters = [new("Event", "ringing"), new("Digits", "1"), new("Event", "initiated")];

        Assert.Equal(Hmac(ExampleToken, ExampleUrl + "Digits1EventinitiatedEventringing"), TwilioSignature.Sign(ExampleToken, ExampleUrl, parameters));
    }

    [Fact]
    public void A_tampered_parameter_is_invalid()
    {
        Assert.False(TwilioSignature.IsValid(ExampleToken, ExampleUrl, With("Digits", "1235"), ExampleSignature));
    }

    [Fact]
    public void An_added_parameter_is_invalid()
    {
        var added = ExampleParameters.Append(new("CallStatus", "completed"));

        Assert.False(TwilioSignature.IsValid(ExampleToken, ExampleUrl, added, ExampleSignature));
    }

    [Fact]
    public void A_changed_query_string_is_invalid()
    {
        Assert.False(TwilioSignature.IsValid(ExampleToken, "https://mycompany.com/myapp.php?foo=1&bar=3", ExampleParameters, ExampleSignature));
    }

    [Fact]
    public void A_signature_made_with_another_token_is_invalid()
    {
        var signature = TwilioSignature.Sign("54321", ExampleUrl, ExampleParameters);

        Assert.False(TwilioSignature.IsValid(ExampleToken, ExampleUrl, ExampleParameters, signature));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base64!")]
    [InlineData("0/KCTR6DLpKmkAf8muzZqo1nDg==")] // valid Base64, one byte short
    public void A_missing_or_unreadable_header_is_invalid(string? header)
    {
        Assert.False(TwilioSignature.IsValid(ExampleToken, ExampleUrl, ExampleParameters, header));
    }

    [Theory]
    [InlineData("https://mycompany.com/myapp.php?foo=1&bar=2", "https://mycompany.com:443/myapp.php?foo=1&bar=2")]
    [InlineData("https://mycompany.com:443/myapp.php?foo=1&bar=2", "https://mycompany.com/myapp.php?foo=1&bar=2")]
    [InlineData("http://mycompany.com/myapp.php?foo=1", "http://mycompany.com:80/myapp.php?foo=1")]
    [InlineData("http://mycompany.com:80/myapp.php", "http://mycompany.com/myapp.php")]
    [InlineData("https://mycompany.com?foo=1", "https://mycompany.com:443?foo=1")]
    public void The_url_with_its_default_port_added_or_removed_validates(string signedUrl, string checkedUrl)
    {
        var signature = TwilioSignature.Sign(ExampleToken, signedUrl, ExampleParameters);

        Assert.True(TwilioSignature.IsValid(ExampleToken, checkedUrl, ExampleParameters, signature));
    }

    [Theory]
    [InlineData("https://mycompany.com/myapp.php", "https://mycompany.com:8443/myapp.php")]
    [InlineData("https://mycompany.com:8443/myapp.php", "https://mycompany.com/myapp.php")]
    [InlineData("https://mycompany.com/myapp.php", "https://mycompany.com:80/myapp.php")]
    [InlineData("http://mycompany.com/myapp.php", "http://mycompany.com:443/myapp.php")]
    [InlineData("https://mycompany.com/myapp.php", "http://mycompany.com/myapp.php")]
    public void Any_other_port_or_scheme_change_is_invalid(string signedUrl, string checkedUrl)
    {
        var signature = TwilioSignature.Sign(ExampleToken, signedUrl, ExampleParameters);

        Assert.False(TwilioSignature.IsValid(ExampleToken, checkedUrl, ExampleParameters, signature));
    }

    [Fact]
    public void An_empty_auth_token_is_refused_rather_than_used_as_a_key()
    {
        Assert.Throws<ArgumentException>(() => TwilioSignature.Sign("", ExampleUrl, ExampleParameters));
        Assert.Throws<ArgumentException>(() => TwilioSignature.IsValid("", ExampleUrl, ExampleParameters, ExampleSignature));
    }

    // The fake's status callbacks, checked by a real receiver that validates as the app would.

    [Fact]
    public async Task The_fakes_callbacks_are_signed_over_the_exact_status_callback_url_and_verify()
    {
        await using var run = await CallbackRun.StartAsync();

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal(4, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(204, d.Status));
        Assert.All(deliveries, d => Assert.Equal(run.StatusCallback, d.Url));
        lock (run.Receiver.Checks) Assert.Equal([true, true, true, true], run.Receiver.Checks.Select(c => c.Valid));
    }

    [Fact]
    public async Task A_completed_call_reports_initiated_ringing_in_progress_and_completed_in_sequence()
    {
        await using var run = await CallbackRun.StartAsync();

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal(["initiated", "ringing", "in-progress", "completed"], deliveries.Select(d => d.CallStatus));
        Assert.Equal([0, 1, 2, 3], deliveries.Select(d => d.SequenceNumber));
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

        Assert.Equal(["initiated", "ringing", "busy"], deliveries.Select(d => d.CallStatus));
        Assert.Equal([0, 1, 2], deliveries.Select(d => d.SequenceNumber));
        Assert.DoesNotContain(deliveries[^1].Form, p => p.Key == "CallDuration");
    }

    [Fact]
    public async Task Shuffled_callbacks_arrive_newest_first()
    {
        await using var run = await CallbackRun.StartAsync();
        run.Fake.ShuffleCallbacks = true;

        var deliveries = await run.PlaceCallAsync();

        Assert.Equal([3, 2, 1, 0], deliveries.Select(d => d.SequenceNumber));
        Assert.All(deliveries, d => Assert.Equal(204, d.Status));
    }

    [Fact]
    public async Task AnsweredBy_is_reported_once_answered_when_machine_detection_was_asked_for()
    {
        await using var run = await CallbackRun.StartAsync();
        run.Fake.AnsweredBy = _ => "machine_start";

        var deliveries = await run.PlaceCallAsync(machineDetection: "Enable");

        Assert.Equal([null, null, "machine_start", "machine_start"],
            deliveries.Select(d => d.Form.Where(p => p.Key == "AnsweredBy").Select(p => p.Value).FirstOrDefault()));
    }

    [Fact]
    public async Task A_replayed_callback_verifies_but_forged_tampered_and_unsigned_ones_do_not()
    {
        await using var run = await CallbackRun.StartAsync();
        var completed = (await run.PlaceCallAsync())[^1];
        var tampered = completed.Form.Select(p => p.Key == "CallStatus" ? new KeyValuePair<string, string>(p.Key, "failed") : p).ToArray();

        var replayed = await run.Fake.SendCallbackAsync(completed.Url, completed.Form);
        var forged = await run.Fake.SendCallbackAsync(completed.Url, completed.Form, TwilioSignature.Sign("another-token", completed.Url, completed.Form));
        var altered = await run.Fake.SendCallbackAsync(completed.Url, tampered, completed.Signature);
        var unsigned = await run.Fake.SendCallbackAsync(completed.Url, completed.Form, signature: "");

        Assert.Equal([204, 403, 403, 403], new[] { replayed, forged, altered, unsigned });
    }

    private sealed class CallbackRun : IAsyncDisposable
    {
        private CallbackRun(TwilioEmulation fake, Receiver receiver, TwilioClient client)
        {
            Fake = fake;
            Receiver = receiver;
            Client = client;
        }

        public TwilioEmulation Fake { get; }
        public Receiver Receiver { get; }
        public TwilioClient Client { get; }

        // A query string on purpose: Twilio signs the URL it was given, query included.
        public string StatusCallback => Receiver.BaseUrl + "/webhooks/twilio/status?contact=c-1&attempt=2";

        public static async Task<CallbackRun> StartAsync()
        {
            var fake = await TwilioEmulation.StartAsync();
            fake.CallDuration = _ => TimeSpan.FromMilliseconds(50);
            var receiver = await Receiver.StartAsync(fake.AuthToken);
            var client = new TwilioClient(
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

    /// <summary>Validates each callback as the app should: URL rebuilt from the public base, path and query as received.</summary>
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
                var valid = TwilioSignature.IsValid(authToken, url, pairs, context.Request.Headers[TwilioSignature.HeaderName].FirstOrDefault());
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
