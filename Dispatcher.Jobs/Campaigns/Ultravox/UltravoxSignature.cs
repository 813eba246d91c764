using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Dispatcher.Jobs.Campaigns.Ultravox;

public enum SignatureCheck { Valid, Missing, Malformed, Stale, Mismatch }

/// <summary>
/// Ultravox webhook signatures: lowercase hex HMAC-SHA256 keyed with the webhook secret over the raw
/// body bytes followed directly by the X-Ultravox-Webhook-Timestamp header's bytes.
/// </summary>
public static class UltravoxSignature
{
    private const int SignatureBytes = 32;

    public static string Sign(ReadOnlySpan<byte> body, string timestamp, string secret)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(secret);
        Span<byte> mac = stackalloc byte[SignatureBytes];
        Compute(body, timestamp, secret, mac);
        return Convert.ToHexStringLower(mac);
    }

    /// <summary>
    /// Checks a delivery against every current secret (several during rotation). The timestamp is
    /// signed with the body, so a fresh timestamp and a matching signature together stop replays
    /// older than <paramref name="maxAge"/>; repeats within it must be absorbed by idempotent handling.
    /// </summary>
    public static SignatureCheck Verify(
        ReadOnlySpan<byte> body,
        string? timestampHeader,
        string? signatureHeader,
        IReadOnlyList<string> secrets,
        DateTimeOffset now,
        TimeSpan maxAge)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (string.IsNullOrWhiteSpace(timestampHeader) || string.IsNullOrWhiteSpace(signatureHeader))
            return SignatureCheck.Missing;
        if (!TryParseTimestamp(timestampHeader, out var sentAt))
            return SignatureCheck.Malformed;

        var offered = new List<byte[]>();
        foreach (var part in signatureHeader.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // Unknown entries (another scheme, a typo) are skipped as long as one entry is usable.
            if (part.Length == SignatureBytes * 2 && TryFromHex(part, out var bytes)) offered.Add(bytes);
        }
        if (offered.Count == 0)
            return SignatureCheck.Malformed;

        if ((now - sentAt).Duration() > maxAge)
            return SignatureCheck.Stale;

        Span<byte> expected = stackalloc byte[SignatureBytes];
        var valid = false;
        foreach (var secret in secrets)
        {
            if (string.IsNullOrEmpty(secret)) continue;
            Compute(body, timestampHeader, secret, expected);
            // Every pair is compared, so the time taken says nothing about which one matched.
            foreach (var signature in offered)
                valid |= CryptographicOperations.FixedTimeEquals(expected, signature);
        }
        return valid ? SignatureCheck.Valid : SignatureCheck.Mismatch;
    }

    private static void Compute(ReadOnlySpan<byte> body, string timestamp, string secret, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(body);
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp));
        hmac.GetHashAndReset(destination);
    }

    // Ultravox sends an RFC 3339 date-time; plain unix seconds are accepted as well.
    private static bool TryParseTimestamp(string header, out DateTimeOffset at)
    {
        var text = header.Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            at = seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds(seconds) : default;
            return at != default;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);
    }

    private static bool TryFromHex(string text, out byte[] bytes)
    {
        bytes = new byte[SignatureBytes];
        return Convert.FromHexString(text, bytes, out _, out var written) == OperationStatus.Done && written == SignatureBytes;
    }
}
