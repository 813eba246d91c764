using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;
using YamlDotNet.RepresentationModel;

namespace Dispatcher.Tests.Shipping;

/// <summary>A fact that runs only where a Compose CLI (docker compose, or docker-compose) is installed; no engine is needed.</summary>
public sealed class ComposeFactAttribute : FactAttribute
{
    public ComposeFactAttribute()
    {
        if (ShippingFilesTests.ComposeCommand is null)
            Skip = "neither 'docker compose' nor 'docker-compose' is installed (.ci/run installs docker-compose)";
    }
}

/// <summary>The Dockerfile, docker-compose.yml and render.yaml describe a service that can start.</summary>
public sealed class ShippingFilesTests
{
    private static readonly Lazy<string[]?> Compose = new(() =>
        Checkout.Answers("docker", "compose", "version") ? ["docker", "compose"]
        : Checkout.Answers("docker-compose", "version") ? ["docker-compose"]
        : null);

    public static string[]? ComposeCommand => Compose.Value;

    private static Task<(int ExitCode, string Stdout, string Stderr)> ComposeConfigAsync(Dictionary<string, string> environment)
    {
        var command = ComposeCommand!;
        // An empty folder for .env lookups would hide a developer's own .env: name the file explicitly instead.
        return Checkout.RunAsync(command[0], [.. command[1..], "-f", Checkout.PathOf("docker-compose.yml"), "config"], environment);
    }

    private static YamlMappingNode Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, params string[] path)
    {
        foreach (var key in path) node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return (YamlMappingNode)node;
    }

    private static string Text(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value ?? "" : "";

    [ComposeFact]
    public async Task Docker_compose_config_accepts_the_file_with_postgres_healthy_before_dispatcher_starts()
    {
        var (exitCode, stdout, stderr) = await ComposeConfigAsync(new()
        {
            ["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey, ["DASHBOARD_USERNAME"] = "admin", ["DASHBOARD_PASSWORD"] = "a-password",
        });

        Assert.True(exitCode == 0, stderr);
        var services = Map(Load(stdout), "services");
        Assert.Contains("pg_isready", Map(services, "db", "healthcheck").Children[new YamlScalarNode("test")].ToString());
        Assert.Equal("service_healthy", Text(Map(services, "dispatcher", "depends_on", "db"), "condition"));
        Assert.Contains("healthcheck", Map(services, "dispatcher", "healthcheck").Children[new YamlScalarNode("test")].ToString());
        Assert.Contains("pgdata", Map(Load(stdout), "volumes").Children.Keys.Select(k => k.ToString()));
        Assert.Equal("simulated", Text(Map(services, "dispatcher", "environment"), "TELEPHONY_MODE"));
    }

    [ComposeFact]
    public async Task Docker_compose_refuses_to_start_without_a_credentials_key_and_says_which()
    {
        var (exitCode, _, stderr) = await ComposeConfigAsync(new() { ["CREDENTIALS_KEY"] = "", ["DASHBOARD_USERNAME"] = "admin", ["DASHBOARD_PASSWORD"] = "a-password" });

        Assert.NotEqual(0, exitCode);
        Assert.Contains("CREDENTIALS_KEY", stderr);
    }

    [ComposeFact]
    public async Task Docker_compose_refuses_to_start_without_dashboard_credentials_since_no_request_through_its_port_mapping_is_local()
    {
        var (exitCode, _, stderr) = await ComposeConfigAsync(new() { ["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey, ["DASHBOARD_USERNAME"] = "", ["DASHBOARD_PASSWORD"] = "" });

        Assert.NotEqual(0, exitCode);
        Assert.Contains("DASHBOARD_", stderr);
    }

    [Fact]
    public void The_render_blueprint_checks_readiness_wires_its_database_and_asks_for_every_secret()
    {
        var blueprint = Load(File.ReadAllText(Checkout.PathOf("render.yaml")));
        var web = Assert.Single(((YamlSequenceNode)blueprint.Children[new YamlScalarNode("services")]).Children.Cast<YamlMappingNode>());
        var databases = ((YamlSequenceNode)blueprint.Children[new YamlScalarNode("databases")]).Children.Select(d => Text(d, "name")).ToList();
        var env = ((YamlSequenceNode)web.Children[new YamlScalarNode("envVars")]).Children.Cast<YamlMappingNode>()
            .ToDictionary(e => Text(e, "key"));

        Assert.Equal("web", Text(web, "type"));
        Assert.Equal("docker", Text(web, "runtime"));
        Assert.Equal("/readyz", Text(web, "healthCheckPath"));
        var database = Map(env["DATABASE_URL"], "fromDatabase");
        Assert.Equal("connectionString", Text(database, "property"));
        Assert.Contains(Text(database, "name"), databases);
        foreach (var secret in new[] { "CREDENTIALS_KEY", "API_KEYS", "ULTRAVOX_WEBHOOK_SECRETS", "TWILIO_AUTH_TOKEN", "DASHBOARD_PASSWORD" })
        {
            Assert.Equal("false", Text(env[secret], "sync"));
            Assert.Equal("", Text(env[secret], "value"));
        }
        // Deployed, the service must never fall back to the simulator.
        Assert.Equal("live", Text(env["TELEPHONY_MODE"], "value"));
    }

    [Fact]
    public void The_Dockerfile_restores_and_publishes_every_project_the_service_is_built_from_and_runs_as_non_root()
    {
        var dockerfile = File.ReadAllText(Checkout.PathOf("Dockerfile"));
        var copied = Regex.Matches(dockerfile, @"^COPY (\S+\.csproj) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Equal(ProjectClosure("Dispatcher.Web/Dispatcher.Web.csproj").ToHashSet(), copied);
        Assert.Matches(@"RUN dotnet restore Dispatcher.Web/Dispatcher.Web.csproj[\s\S]*RUN dotnet publish Dispatcher.Web/Dispatcher.Web.csproj -c Release --no-restore", dockerfile);
        Assert.Matches(@"FROM mcr.microsoft.com/dotnet/aspnet:\S+ AS runtime", dockerfile);
        Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
    }

    // The project and every project it references, as paths relative to the checkout.
    private static IEnumerable<string> ProjectClosure(string project)
    {
        yield return project;
        var folder = Path.GetDirectoryName(project)!;
        foreach (var reference in XDocument.Load(Checkout.PathOf(project)).Descendants("ProjectReference"))
        {
            var path = Path.GetRelativePath(Checkout.Root, Path.GetFullPath(Path.Combine(Checkout.Root, folder, reference.Attribute("Include")!.Value)));
            foreach (var inner in ProjectClosure(path.Replace('\\', '/'))) yield return inner;
        }
    }
}
