using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.OpenApi;

namespace Dispatcher.Web.Api;

/// <summary>
/// The REST API's common ground: API-key authentication, snake_case JSON, every error as
/// application/problem+json, and the OpenAPI document at /openapi/v1.json.
/// </summary>
public static class ApiSetup
{
    public static IServiceCollection AddApi(this IServiceCollection services, ApiKeys keys)
    {
        services.AddSingleton(keys);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions["request_id"] = c.HttpContext.TraceIdentifier;
            if (c.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
                c.ProblemDetails.Detail ??= "send JSON as application/json, and a CSV file as the raw body with Content-Type text/csv " +
                                            "(curl --data-binary @contacts.csv -H 'Content-Type: text/csv'), not as a multipart form";
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Malformed or missing bodies throw, so that ApiExceptionHandler answers with what was wrong instead of an empty 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow; // a misspelt field is an error, not a silent default
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeys.Scheme, null);
        services.AddAuthorization(o => o.AddPolicy(ApiKeys.Scheme, p => p.AddAuthenticationSchemes(ApiKeys.Scheme).RequireAuthenticatedUser()));
        services.AddOpenApi(o =>
        {
            o.ShouldInclude = description => description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Dispatcher",
                    Version = "v1",
                    Description = "Campaign call batches (Ultravox) and onboarding calls (Twilio). Every request needs an API key (API_KEYS) " +
                                  "as X-Api-Key or Authorization: Bearer. Errors are application/problem+json.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [ApiKeys.Scheme] = new OpenApiSecurityScheme { Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-Api-Key" },
                    ["Bearer"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer" },
                };
                document.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeys.Scheme, document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] },
                ];
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>Errors of every route as problem+json, and API-key authentication.</summary>
    public static WebApplication UseApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(); // bodiless errors (unknown route, wrong method) as problem+json too
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>The OpenAPI document, and the /api group (API key required) for features to map into.</summary>
    public static RouteGroupBuilder MapApi(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        return app.MapGroup("/api").RequireApiKey()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }
}
