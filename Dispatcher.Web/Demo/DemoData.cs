using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.Onboarding;
using Npgsql;

namespace Dispatcher.Web.Demo;

/// <summary>
/// DEMO_DATA=true (simulated telephony only): on an empty database, an agency with two agents and
/// a few batches of different sizes and paces; then, for as long as the service runs, a signup
/// every few seconds and a new small batch whenever the agency has none running. Everything goes
/// through the same domain operations as the REST API.
/// </summary>
public sealed class DemoData(NpgsqlDataSource dataSource, AgencyDirectory agencies, Batches batches, Signups signups, TimeProvider clock,
    ILogger<DemoData> logger) : BackgroundService
{
    private static readonly string[] FirstNames = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Luis", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq"];
    private static readonly string[] LastNames = ["Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor"];
    // 555-0100 to 555-0199 are reserved for fiction in every North American area code.
    private static readonly int[] AreaCodes = [202, 212, 305, 312, 404, 415, 512, 617, 702, 818];
    private static readonly string[] SignupModes = ["default", "trial", "demo"];
    private static readonly TimeSpan TopUpEvery = TimeSpan.FromMinutes(1);

    public static readonly IReadOnlyList<(string Name, int Contacts, int CallsPerMinute, int MaxConcurrent, int MaxAttempts, TimeSpan? StartsIn)> SeedBatches =
    [
        ("Policy renewals, spring", 150, 40, 8, 2, null),
        ("Webinar follow-up", 30, 12, 3, 1, null),
        ("Win-back: lapsed customers", 400, 90, 20, 1, null),
        ("Open-house reminders", 40, 20, 5, 1, TimeSpan.FromMinutes(3)),
    ];

    // "Webinar follow-up" (one attempt a contact) starts with contact 150.
    private const int NeverAnswersContact = 150;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SeedAsync(stoppingToken);
            // A signup nobody answers: busy 3 times, it is a failed call a new user can requeue within minutes.
            await signups.RequestCallAsync(new Signup("demo-never-answers", Simulation.SimulatorOptions.NobodyAnswers, "default",
                new Dictionary<string, string> { ["first_name"] = "Quinn" }), stoppingToken);
            var nextTopUp = clock.GetUtcNow() + TopUpEvery;
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(3 + Random.Shared.NextDouble() * 5), clock, stoppingToken);
                try
                {
                    await signups.RequestCallAsync(new Signup($"demo-{Guid.NewGuid():N}"[..17], Phone(Random.Shared.Next(1000)),
                        SignupModes[Random.Shared.Next(SignupModes.Length)], new Dictionary<string, string> { ["first_name"] = Pick(FirstNames) }), stoppingToken);
                    if (clock.GetUtcNow() >= nextTopUp)
                    {
                        await TopUpAsync(stoppingToken);
                        nextTopUp = clock.GetUtcNow() + TopUpEvery;
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("Demo data: {Error}; trying again shortly", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The agency, agents and batches, when the database has no agency yet. True when it seeded.</summary>
    public async Task<bool> SeedAsync(CancellationToken ct)
    {
        await using (var any = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM agencies)"))
        {
            if ((bool)(await any.ExecuteScalarAsync(ct))!)
            {
                logger.LogInformation("Demo data: the database already has agencies, so only the signup stream runs");
                return false;
            }
        }
        var agency = await agencies.CreateAgencyAsync("Northwind Insurance (demo)", "simulated-ultravox-key", ct);
        var agents = new[]
        {
            await agencies.CreateAgentMappingAsync(agency, "7c1e5b20-4a8f-4d3b-9e61-0f2a8c4d7b13", "Renewals assistant", "+12025550100", ct),
            await agencies.CreateAgentMappingAsync(agency, "a4d92f6e-1b3c-4e57-8a0d-6e9f3b2c5a81", "Follow-up assistant", "+12025550101", ct),
        };
        var now = clock.GetUtcNow();
        var first = 0;
        for (var i = 0; i < SeedBatches.Count; i++)
        {
            var (name, contacts, perMinute, concurrent, attempts, startsIn) = SeedBatches[i];
            await batches.CreateAsync(new NewBatch(agency, agents[i % agents.Length], name, perMinute, concurrent, Contacts(first, contacts), attempts,
                startsIn is { } delay ? now + delay : null), ct);
            first += contacts;
        }
        logger.LogInformation("Demo data: agency {Agency} with {Batches} batches ({Contacts} contacts) and a signup every few seconds", agency, SeedBatches.Count, first);
        return true;
    }

    // A fresh small batch when the demo agency has nothing left to dial, so calls keep flowing.
    private async Task TopUpAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT a.id, m.id FROM agencies a JOIN agent_mappings m ON m.agency_id = a.id
            WHERE a.name = 'Northwind Insurance (demo)'
              AND NOT EXISTS (SELECT 1 FROM call_batches b WHERE b.agency_id = a.id AND b.status IN ('pending', 'scheduled', 'processing'))
            ORDER BY m.id LIMIT 1
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return;
        var (agency, agent) = (reader.GetInt64(0), reader.GetInt64(1));
        await reader.CloseAsync();
        var size = 20 + Random.Shared.Next(60);
        var id = await batches.CreateAsync(new NewBatch(agency, agent, $"Daily check-ins {clock.GetUtcNow():HH:mm}", 30, 6,
            Contacts(Random.Shared.Next(1000), size)), ct);
        logger.LogInformation("Demo data: batch {Batch} with {Contacts} contacts", id, size);
    }

    /// <summary>The first contact of the first batch with one attempt a contact is nobody who answers: a contact out of attempts early on.</summary>
    private static List<NewContact> Contacts(int first, int count) =>
        Enumerable.Range(first, count).Select(n =>
        {
            var firstName = FirstNames[n % FirstNames.Length];
            return new NewContact(n == NeverAnswersContact ? Simulation.SimulatorOptions.NobodyAnswers : Phone(n), $"{firstName} {LastNames[n / FirstNames.Length % LastNames.Length]}",
                new Dictionary<string, string> { ["first_name"] = firstName });
        }).ToList();

    private static string Phone(int n) => $"+1{AreaCodes[n / 100 % AreaCodes.Length]}55501{n % 100:00}";

    private static string Pick(string[] values) => values[Random.Shared.Next(values.Length)];
}

public static class DemoDataServiceCollectionExtensions
{
    public static IServiceCollection AddDemoData(this IServiceCollection services) => services.AddHostedService<DemoData>();
}
