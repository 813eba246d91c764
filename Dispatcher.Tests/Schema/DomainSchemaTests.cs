using Dispatcher.Jobs.Schema;
using Dispatcher.Testing;
using Dispatcher.Web.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatcher.Tests.Schema;

/// <summary>The domain tables under DbUp: applied once however many instances start, and adopted from the old engine's runner.</summary>
public sealed class DomainSchemaTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DomainScripts[] Sets = [DomainScripts.Campaigns, DomainScripts.Onboarding, HostingSetup.Scripts];

    // Every script this code ships, in the order DbUp must apply them: campaigns, onboarding, hosting, each by number.
    private static readonly string[] Scripts =
    [
        "Dispatcher.Jobs.Campaigns.Migrations.0001_campaigns.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0002_counters_in_statements.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0003_hangfire_dialers.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0004_dashboard_counts.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0005_hangfire_job_state_index.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0006_calling_rules.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0007_checks_as_domains.sql",
        "Dispatcher.Jobs.Campaigns.Migrations.0008_fewer_writes_per_dial.sql",
        "Dispatcher.Jobs.Onboarding.Migrations.0001_onboarding.sql",
        "Dispatcher.Jobs.Onboarding.Migrations.0002_status_index.sql",
        "Dispatcher.Jobs.Onboarding.Migrations.0003_hangfire_jobs.sql",
        "Dispatcher.Jobs.Onboarding.Migrations.0004_calling_rules.sql",
        "Dispatcher.Web.Hosting.Migrations.0001_data_protection_keys.sql",
        "Dispatcher.Web.Hosting.Migrations.0002_drop_old_job_engine.sql",
    ];

    private static DomainSchema SchemaOf(NpgsqlDataSource dataSource) => new(dataSource, Sets, NullLogger<DomainSchema>.Instance);

    [Fact]
    public async Task Scripts_are_applied_in_set_order_then_by_number()
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());

        var applied = await SchemaOf(dataSource).UpgradeAsync(CancellationToken.None);

        Assert.Equal(Scripts, applied);
    }

    [Fact]
    public async Task Two_instances_starting_at_once_apply_each_script_once()
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());

        var applied = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => SchemaOf(dataSource).UpgradeAsync(CancellationToken.None))));

        Assert.Equal(Scripts.Order(), applied.SelectMany(a => a).Order());
        Assert.Equal(Scripts.Order(), (await JournalAsync(dataSource)).Order());
    }

    [Fact]
    public async Task A_database_migrated_by_the_old_runner_is_adopted_without_running_its_scripts_again()
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());
        // As the old runner left it: every script but the newest campaigns and onboarding ones applied and recorded by (source, version, name).
        await ApplyAsOldRunnerAsync(dataSource, [("jobs", 1, "campaigns"), ("jobs", 2, "counters_in_statements"), ("onboarding", 1, "onboarding"),
            ("web", 1, "data_protection_keys")]);

        // Running a recorded script again would fail: its CREATE TABLEs exist.
        var applied = await SchemaOf(dataSource).UpgradeAsync(CancellationToken.None);

        Assert.Equal(["Dispatcher.Jobs.Campaigns.Migrations.0003_hangfire_dialers.sql", "Dispatcher.Jobs.Campaigns.Migrations.0004_dashboard_counts.sql",
            "Dispatcher.Jobs.Campaigns.Migrations.0005_hangfire_job_state_index.sql", "Dispatcher.Jobs.Campaigns.Migrations.0006_calling_rules.sql",
            "Dispatcher.Jobs.Campaigns.Migrations.0007_checks_as_domains.sql", "Dispatcher.Jobs.Campaigns.Migrations.0008_fewer_writes_per_dial.sql",
            "Dispatcher.Jobs.Onboarding.Migrations.0002_status_index.sql", "Dispatcher.Jobs.Onboarding.Migrations.0003_hangfire_jobs.sql",
            "Dispatcher.Jobs.Onboarding.Migrations.0004_calling_rules.sql", "Dispatcher.Web.Hosting.Migrations.0002_drop_old_job_engine.sql"], applied);
        await using var oldEngine = dataSource.CreateCommand("SELECT count(*) FROM pg_namespace WHERE nspname = 'dispatcher'");
        Assert.Equal(0L, await oldEngine.ExecuteScalarAsync()); // the old engine's schema is gone
        Assert.Equal(Scripts.Order(), (await JournalAsync(dataSource)).Order());
    }

    [Fact]
    public async Task Pending_names_the_scripts_not_applied_yet()
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());
        var schema = SchemaOf(dataSource);
        Assert.Equal(Scripts, await schema.PendingAsync(CancellationToken.None));

        await schema.UpgradeAsync(CancellationToken.None);

        Assert.Empty(await schema.PendingAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("UPDATE call_batches SET status = 'finished'")]
    [InlineData("UPDATE call_batches SET calls_per_minute = 0")]
    [InlineData("UPDATE call_batches SET max_concurrent = 1001")]
    [InlineData("UPDATE call_batches SET max_attempts = 11")]
    [InlineData("UPDATE call_batches SET calling_start_minute = 1440, calling_end_minute = 1440, calling_days = 1")]
    [InlineData("UPDATE call_batches SET calling_start_minute = 0, calling_end_minute = 0, calling_days = 1")]
    [InlineData("UPDATE call_batches SET calling_start_minute = 0, calling_end_minute = 60, calling_days = 128")]
    [InlineData("UPDATE campaign_contacts SET status = 'ringing'")]
    [InlineData("INSERT INTO call_batches (agency_id, name, calls_per_minute, max_concurrent, created_at, updated_at) SELECT id, 'b', 6001, 1, now(), now() FROM agencies")]
    public async Task The_database_refuses_a_batch_or_contact_outside_its_rules(string change)
    {
        await using var dataSource = NpgsqlDataSource.Create(await db.CreateExtraDatabaseAsync());
        await SchemaOf(dataSource).UpgradeAsync(CancellationToken.None);
        await using (var seed = dataSource.CreateCommand("""
            WITH a AS (INSERT INTO agencies (name, created_at, updated_at) VALUES ('Acme', now(), now()) RETURNING id),
                 b AS (INSERT INTO call_batches (agency_id, name, calls_per_minute, max_concurrent, created_at, updated_at)
                       SELECT id, 'Spring renewals', 60, 5, now(), now() FROM a RETURNING id)
            INSERT INTO campaign_contacts (batch_id, phone_number, status_changed_at, created_at, updated_at)
            SELECT id, '+14155550123', now(), now(), now() FROM b
            """))
            await seed.ExecuteNonQueryAsync();

        await using var command = dataSource.CreateCommand(change);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());

        Assert.Equal(PostgresErrorCodes.CheckViolation, refused.SqlState);
    }

    private static async Task<List<string>> JournalAsync(NpgsqlDataSource dataSource)
    {
        var names = new List<string>();
        await using var command = dataSource.CreateCommand("SELECT scriptname FROM public.schema_versions");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) names.Add(reader.GetString(0));
        return names;
    }

    private static async Task ApplyAsOldRunnerAsync(NpgsqlDataSource dataSource, (string Source, int Version, string Name)[] recorded)
    {
        await using (var journal = dataSource.CreateCommand("""
            CREATE SCHEMA dispatcher;
            CREATE TABLE dispatcher.schema_migrations (
                source text NOT NULL, version integer NOT NULL, name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, version))
            """))
            await journal.ExecuteNonQueryAsync();
        foreach (var (source, version, name) in recorded)
        {
            var set = Sets.Single(s => s.LegacySource == source);
            await using var stream = set.Assembly.GetManifestResourceStream($"{set.ResourcePrefix}{version:D4}_{name}.sql")!;
            await using (var script = dataSource.CreateCommand(await new StreamReader(stream).ReadToEndAsync()))
                await script.ExecuteNonQueryAsync();
            await using var record = dataSource.CreateCommand("INSERT INTO dispatcher.schema_migrations (source, version, name) VALUES ($1, $2, $3)");
            record.Parameters.Add(new NpgsqlParameter { Value = source });
            record.Parameters.Add(new NpgsqlParameter { Value = version });
            record.Parameters.Add(new NpgsqlParameter { Value = name });
            await record.ExecuteNonQueryAsync();
        }
    }
}
