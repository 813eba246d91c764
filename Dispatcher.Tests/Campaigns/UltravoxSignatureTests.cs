using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dispatcher.Jobs.Campaigns.Ultravox;
using Dispatcher.Web.Telephony.Emulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dispatcher.Tests.Campaigns;

public sealed class UltravoxSignatureTests
{
    private const string Secret = "whsec-current";
    private static readonly DateTimeOffset Now = new(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"event":"call.ended","call":{"callId":"4b1c","endReason":"hangup"}}""");
    private const string Timestamp = "2030-05-06T07:08:04.123456Z";

    private static SignatureCheck Verify(byte[] body, string? timestamp, string? signature, params string[] secrets) =>
        UltravoxSignature.Verify(body, timestamp, signature, secrets.Length == 0 ? [Secret] : secrets, Now, MaxAge);

    [Fact]
    public void A_signature_is_lowercase_hex_HMAC_SHA256_of_the_body_then_the_timestamp()
    {
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Body.Concat(Encoding.UTF8.GetBytes(Timestamp)).ToArray()));

        Assert.Equal(expected, UltravoxSignature.Sign(Body, Timestamp, Secret));
    }

    [Fact]
    public void A_signed_delivery_verifies()
    {
        Assert.Equal(SignatureCheck.Valid, Verify(Body, Timestamp, UltravoxSignature.Sign(Body, Timestamp, Secret)));
    }

    [Fact]
    public void Any_of_several_comma_separated_signatures_may_match()
    {
        var header = $"{new string('0', 64)}, {UltravoxSignature.Sign(Body, Timestamp, Secret)}";

        Assert.Equal(SignatureCheck.Valid, Verify(Body, Timestamp, header));
    }

    [Fact]
    public void During_rotation_a_delivery_signed_with_the_old_secret_still_verifies()
    {
        var signature = UltravoxSignature.Sign(Body, Timestamp, "whsec-old");

        Assert.Equal(SignatureCheck.Valid, Verify(Body, Timestamp, signature, Secret, "whsec-old"));
        Assert.Equal(SignatureCheck.Mismatch, Verify(Body, Timestamp, signature, Secret));
    }

    [Fact]
    public void An_uppercase_hex_signature_is_read_as_the_same_bytes()
    {
        Assert.Equal(SignatureCheck.Valid, Verify(Body, Timestamp, UltravoxSignature.Sign(Body, Timestamp, Secret).ToUpperInvariant()));
    }

    [Fact]
    public void A_tampered_body_is_a_mismatch()
    {
        var signature = UltravoxSignature.Sign(Body, Timestamp, Secret);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("hangup", "unjoined"));

        Assert.Equal(SignatureCheck.Mismatch, Verify(tampered, Timestamp, signature));
    }

    [Fact]
    public void A_timestamp_changed_after_signing_is_a_mismatch()
    {
        var signature = UltravoxSignature.Sign(Body, Timestamp, Secret);

        Assert.Equal(SignatureCheck.Mismatch, Verify(Body, "2030-05-06T07:08:05.123456Z", signature));
    }

    [Fact]
    public void A_timestamp_older_than_the_max_age_is_stale_even_when_correctly_signed()
    {
        const string old = "2030-05-06T07:07:08Z";

        Assert.Equal(SignatureCheck.Stale, Verify(Body, old, UltravoxSignature.Sign(Body, old, Secret)));
    }

    [Fact]
    public void A_timestamp_further_in_the_future_than_the_max_age_is_stale()
    {
        const string future = "2030-05-06T07:09:10Z";

        Assert.Equal(SignatureCheck.Stale, Verify(Body, future, UltravoxSignature.Sign(Body, future, Secret)));
    }

    [Fact]
    public void Timestamps_with_an_offset_and_in_unix_seconds_are_understood()
    {
        const string withOffset = "2030-05-06T09:08:00+02:00";
        var unix = Now.AddSeconds(-10).ToUnixTimeSeconds().ToString();

        Assert.Equal(SignatureCheck.Valid, Verify(Body, withOffset, UltravoxSignature.Sign(Body, withOffset, Secret)));
        Assert.Equal(SignatureCheck.Valid, Verify(Body, unix, UltravoxSignature.Sign(Body, unix, Secret)));
    }

    [Theory]
    [InlineData(null, "sig")]
    [InlineData("", "sig")]
    [InlineData(Timestamp, null)]
    [InlineData(Timestamp, " ")]
    public void A_missing_header_is_Missing(string? timestamp, string? signature)
    {
        Assert.Equal(SignatureCheck.Missing, Verify(Body, timestamp, signature));
    }

    [Theory]
    [InlineData("yesterday", "valid")]
    [InlineData(Timestamp, "not-hex")]
    [InlineData(Timestamp, "abcd")]
    [InlineData(Timestamp, ",,")]
    public void An_unreadable_header_is_Malformed(string timestamp, string signature)
    {
        if (signature == "valid") signature = UltravoxSignature.Sign(Body, timestamp, Secret);

        Assert.Equal(SignatureCheck.Malformed, Verify(Body, timestamp, signature));
    }

    [Fact]
    public async Task The_fakes_webhooks_verify_at_a_real_receiver_and_forgeries_do_not()
    {
        var checks = new List<SignatureCheck>();
        await using var receiver = await StartReceiverAsync(checks);
        await using var fake = await UltravoxEmulation.StartAsync();
        fake.WebhookUrl = receiver.Url;
        fake.WebhookSecret = Secret;
        fake.CallDuration = _ => TimeSpan.FromMilliseconds(20);
        using var client = new UltravoxClient(new UltravoxOptions { BaseUrl = fake.BaseUrl }, TimeProvider.System);
        var created = await client.StartAgentCallAsync(
            new StartCallRequest("key", Guid.NewGuid().ToString(), "+15550000001", "+15559990000",
                new Dictionary<string, string> { ["contact_id"] = "c-1" }, new Dictionary<string, object?>()),
            CancellationToken.None);
        await fake.WaitUntilIdleAsync(TimeSpan.FromSeconds(5));
        var callId = Assert.IsType<CreateCallOutcome.Created>(created).Call.CallId;

        var duplicate = await fake.SendWebhookAsync(fake.CallEndedBody(callId));
        var forged = await fake.SendWebhookAsync(fake.CallEndedBody(callId), signature: new string('a', 64));
        var stale = await fake.SendWebhookAsync(fake.CallEndedBody(callId), timestamp: DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"));
        var unsigned = await fake.SendWebhookAsync(fake.CallEndedBody(callId), signature: "");

        var delivered = Assert.Single(fake.WebhookDeliveries, d => d.CallId == callId);
        Assert.Equal(204, delivered.Status);
        Assert.Contains("\"event\":\"call.ended\"", delivered.Body);
        Assert.Equal([204, 401, 401, 401], new[] { duplicate, forged, stale, unsigned });
        lock (checks)
            Assert.Equal([SignatureCheck.Valid, SignatureCheck.Valid, SignatureCheck.Mismatch, SignatureCheck.Stale, SignatureCheck.Missing], checks);
    }

    private static async Task<Receiver> StartReceiverAsync(List<SignatureCheck> checks)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.MapPost("/webhooks/ultravox", (RequestDelegate)(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var check = UltravoxSignature.Verify(
                buffer.ToArray(),
                context.Request.Headers[UltravoxEmulation.TimestampHeader].FirstOrDefault(),
                context.Request.Headers[UltravoxEmulation.SignatureHeader].FirstOrDefault(),
                [Secret],
                DateTimeOffset.UtcNow,
                MaxAge);
            lock (checks) checks.Add(check);
            context.Response.StatusCode = check == SignatureCheck.Valid ? 204 : 401;
        }));
        await app.StartAsync();
        return new Receiver(app, app.Urls.Single().TrimEnd('/') + "/webhooks/ultravox");
    }

    private sealed record Receiver(WebApplication App, string Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
