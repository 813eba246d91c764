using System.Reflection;

namespace Dispatcher.Jobs.Schema;

/// <summary>
/// A folder of numbered scripts ("0001_name.sql") embedded in an assembly. Each script is journaled
/// under its resource name, so the files must keep their folder and name once released.
/// <paramref name="LegacySource"/> is the source the old engine's runner recorded them under, for adoption.
/// </summary>
public sealed record DomainScripts(string LegacySource, Assembly Assembly, string ResourcePrefix)
{
    public static DomainScripts Campaigns { get; } = new("jobs", typeof(DomainScripts).Assembly, "Dispatcher.Jobs.Campaigns.Migrations.");

    public static DomainScripts Onboarding { get; } = new("onboarding", typeof(DomainScripts).Assembly, "Dispatcher.Jobs.Onboarding.Migrations.");

    public bool Contains(string scriptName) =>
        scriptName.StartsWith(ResourcePrefix, StringComparison.Ordinal) && scriptName.EndsWith(".sql", StringComparison.Ordinal);

    /// <summary>The version the old runner recorded for one of these scripts: the number before the first '_'.</summary>
    public int LegacyVersionOf(string scriptName) => int.Parse(scriptName[ResourcePrefix.Length..].Split('_')[0]);
}
