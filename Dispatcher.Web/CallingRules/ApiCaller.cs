using System.Security.Cryptography;
using System.Text;
using Dispatcher.Web.Api;

namespace Dispatcher.Web.CallingRules;

/// <summary>Who made an API request, for the audit: the API key's fingerprint, never the key.</summary>
public static class ApiCaller
{
    public static string Of(HttpRequest request) =>
        ApiKeys.Given(request) is { } key ? $"api-key {Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12]}" : "api";
}
