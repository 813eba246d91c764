using System.Reflection;

namespace Dispatcher.Queue.Storage;

/// <summary>One versioned schema change. Sql may use {schema} for the engine's schema.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// An ordered set of migrations with its own version line ("queue" for the engine), recorded in
/// the engine's schema_migrations table. Earlier releases recorded the domain's sets there too
/// ("jobs", "onboarding", "web"); Dispatcher.Jobs.Schema adopts those rows.
/// </summary>
public sealed record MigrationSet(string Source, IReadOnlyList<Migration> Migrations)
{
    /// <summary>Embedded resources named like "0001_name.sql" under the given folder prefix, ordered by version.</summary>
    public static MigrationSet FromEmbeddedSql(string source, Assembly assembly, string resourcePrefix)
    {
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(resourcePrefix, StringComparison.Ordinal) && r.EndsWith(".sql", StringComparison.Ordinal)))
        {
            var file = resource[resourcePrefix.Length..^".sql".Length];
            var separator = file.IndexOf('_');
            if (separator < 1 || !int.TryParse(file[..separator], out var version))
                throw new InvalidOperationException($"migration resource '{resource}' must be named NNNN_name.sql");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, file[(separator + 1)..], reader.ReadToEnd()));
        }
        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"{source} has two migrations numbered {duplicate.Key}");
        return new MigrationSet(source, migrations.OrderBy(m => m.Version).ToList());
    }

    internal static MigrationSet Engine { get; } =
        FromEmbeddedSql("queue", typeof(MigrationSet).Assembly, "Dispatcher.Queue.Storage.Migrations.");
}
