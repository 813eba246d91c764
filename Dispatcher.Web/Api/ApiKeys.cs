using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Dispatcher.Web.Api;

/// <summary>The REST API's keys [API_KEYS, comma-separated]: sent as X-Api-Key or "Authorization: Bearer".</summary>
public sealed record ApiKeys(IReadOnlyList<string> Keys)
{
    public const string Scheme = "ApiKey";

    public bool Accepts(string given)
    {
        var bytes = Encoding.UTF8.GetBytes(given);
        return Keys.Any(k => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(k), bytes));
    }

    public static string? Given(HttpRequest request) =>
        request.Headers["X-Api-Key"].FirstOrDefault()
        ?? (request.Headers.Authorization.FirstOrDefault() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : null);
}

/// <summary>
/// API keys as an authentication scheme, so that a request without a valid key is refused (401,
/// problem+json) before its body is read or bound.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logs, UrlEncoder encoder, ApiKeys keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logs, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // The only scheme is everyone's default, so this runs for every request; only /api takes our keys
        // (the simulated Ultravox reads its own X-API-Key, which must not be judged, or logged, as ours).
        if (!Request.Path.StartsWithSegments("/api")) return Task.FromResult(AuthenticateResult.NoResult());
        if (ApiKeys.Given(Request) is not { } given) return Task.FromResult(AuthenticateResult.NoResult());
        if (!keys.Accepts(given)) return Task.FromResult(AuthenticateResult.Fail("the API key is not one of API_KEYS"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-key")], ApiKeys.Scheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeys.Scheme)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var detail = keys.Keys.Count == 0 ? "the API is closed: no API_KEYS are configured"
            : ApiKeys.Given(Request) is null ? "an API key is required: send it as X-Api-Key or Authorization: Bearer"
            : "the API key is not valid";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = StatusCodes.Status401Unauthorized, Title = "Unauthorized", Detail = detail },
        });
    }
}

public static class ApiKeyEndpoints
{
    /// <summary>401 problem unless the request carries one of the configured keys.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(ApiKeys.Scheme);
}
