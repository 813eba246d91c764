using System.Security.Cryptography;
using System.Text;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>
/// Encrypts provider credentials at rest with AES-GCM. Stored form: version byte, 12-byte nonce,
/// 16-byte tag, ciphertext. The key (32 bytes, base64) comes from configuration [CREDENTIALS_KEY].
/// </summary>
public sealed class CredentialCipher
{
    private const byte Version = 1;
    private readonly byte[] _key;

    public CredentialCipher(string base64Key)
    {
        byte[] key;
        try { key = Convert.FromBase64String(base64Key); }
        catch (FormatException) { throw new ArgumentException("CREDENTIALS_KEY must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"); }
        if (key.Length != 32) throw new ArgumentException($"CREDENTIALS_KEY must be 32 bytes once decoded, not {key.Length}");
        _key = key;
    }

    public byte[] Encrypt(string secret)
    {
        var plain = Encoding.UTF8.GetBytes(secret);
        var sealedBox = new byte[1 + 12 + 16 + plain.Length];
        sealedBox[0] = Version;
        var nonce = sealedBox.AsSpan(1, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, plain, sealedBox.AsSpan(29), sealedBox.AsSpan(13, 16));
        return sealedBox;
    }

    public string Decrypt(byte[] sealedBox)
    {
        if (sealedBox.Length < 29 || sealedBox[0] != Version)
            throw new CryptographicException("stored credential is not in a known format");
        var plain = new byte[sealedBox.Length - 29];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(sealedBox.AsSpan(1, 12), sealedBox.AsSpan(29), sealedBox.AsSpan(13, 16), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
