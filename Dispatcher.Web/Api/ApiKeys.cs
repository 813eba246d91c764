using System.Security.Cryptography;
using System.Text;

namespace Dispatcher.Web.Api;

/// <summary>The REST API's keys [API_KEYS, comma-separated]: sent as X-Api-Key or "Authorization: Bearer".</summary>
public sealed record ApiKeys(IReadOnlyList<string> Keys)
{
    public bool Accepts(HttpRequest request)
    {
        var given = request.Headers["X-Api-Key"].FirstOrDefault()
            ?? (request.Headers.Authorization.FirstOrDefault() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : null);
        if (given is null) return false;
        var bytes = Encoding.UTF8.GetBytes(given);
        return Keys.Any(k => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(k), bytes));
    }
}

public static class ApiKeyFilter
{
    /// <summary>401 problem unless the request carries one of the configured keys.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var keys = context.HttpContext.RequestServices.GetRequiredService<ApiKeys>();
            if (keys.Accepts(context.HttpContext.Request)) return await next(context);
            return Results.Problem(keys.Keys.Count == 0 ? "the API is closed: no API_KEYS are configured" : "a valid API key is required (X-Api-Key header)",
                statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
        });
}
