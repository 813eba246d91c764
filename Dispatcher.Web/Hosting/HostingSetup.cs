using Dispatcher.Jobs.Schema;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Npgsql;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration.Memory;

namespace Dispatcher.Web.Hosting;

public static class HostingSetup
{
    /// <summary>The host's own tables (the data-protection keys), migrated after the domain's.</summary>
    public static DomainScripts Scripts { get; } = new("web", typeof(DataProtectionKeys).Assembly, "Dispatcher.Web.Hosting.Migrations.");

    /// <summary>JSON console logs with scopes, the shutdown window, and trust in the proxy's X-Forwarded-For/Proto.</summary>
    public static WebApplicationBuilder AddHosting(this WebApplicationBuilder builder, HostingSettings settings)
    {
        // appsettings.json's levels, as the lowest-precedence source: the same logs whatever the working directory
        // (appsettings.json is read from there), and still changeable by appsettings or Logging__LogLevel__* variables.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                // "No XML encryptor configured": the keys sit in the database beside everything they protect, on purpose.
                ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
            },
        });
        builder.Logging.ClearProviders();
        if (settings.JsonLogs)
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true; // CorrelationId of requests, JobId/JobKind/Attempt of jobs
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        else
            builder.Logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        builder.Services.AddDataProtection().SetApplicationName("Dispatcher");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((o, dataSource) => o.XmlRepository = new DataProtectionKeys(dataSource));
        if (settings.ForwardedHeaders)
            builder.Services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedPrefix;
                // Render's proxies have no fixed addresses, and the service is reachable only through them there.
                o.KnownIPNetworks.Clear();
                o.KnownProxies.Clear();
            });
        return builder;
    }

    /// <summary>First in the pipeline: the client's scheme and address, then a correlation id for everything the request logs.</summary>
    public static WebApplication UseHosting(this WebApplication app, HostingSettings settings)
    {
        ConnectionPeer.UseConnectionPeer(app);
        if (settings.ForwardedHeaders) app.UseForwardedHeaders();
        app.UseMiddleware<CorrelationId>();
        return app;
    }
}
