using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Tests.Campaigns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Dispatcher.Testing;

namespace Dispatcher.Tests.CallingRules;

public sealed class CallingHoursTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    // Saturday 8 March 2031, 20:00 UTC: the night before the US moves to daylight-saving time
    // (New York 07:00 UTC, Los Angeles 10:00 UTC on Sunday 9 March); Sydney is on daylight time.
    private static readonly DateTimeOffset SaturdayEvening = new(2031, 3, 8, 20, 0, 0, TimeSpan.Zero);

    private static readonly string[] Zones = ["Australia/Sydney", "Asia/Tokyo", "Europe/London", "America/New_York", "America/Los_Angeles"];

    [Fact]
    public async Task A_batch_over_five_time_zones_dials_each_contact_only_inside_its_local_window_across_a_daylight_saving_change()
    {
        var clock = new FakeTimeProvider(SaturdayEvening);
        using var ticking = Ticking(clock);
        await using var harness = await StartAsync(clock, "daily 09:00-20:00");
        var contacts = Zones.Select((zone, i) => new NewContact($"+1555200000{i}", zone, TimeZone: zone)).ToList();
        var batchId = await harness.App.Get<Batches>().CreateAsync(new NewBatch(harness.AgencyId, harness.MappingId, "Around the world", 600, 5, contacts,
            CallingHours: CallingHours.Parse("daily 09:00-12:00")), CancellationToken.None);

        // Each window opens at 09:00 local on Sunday: worked out here with the BCL's zone rules, not the service's.
        var dialled = new Dictionary<string, DateTimeOffset>();
        foreach (var (zone, contact) in Zones.Zip(contacts).OrderBy(z => LocalNineOnSunday(z.First)))
        {
            var opens = LocalNineOnSunday(zone);
            clock.SetUtcNow(opens - TimeSpan.FromMinutes(2));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(0, harness.Fake.CreateRequestsFor(contact.PhoneNumber));
            clock.SetUtcNow(opens + TimeSpan.FromMinutes(1));
            await Eventually.That(() => harness.Fake.CreateRequestsFor(contact.PhoneNumber) == 1, $"{zone} dialled", TimeSpan.FromSeconds(20));
            dialled[contact.PhoneNumber] = clock.GetUtcNow(); // by now at the latest
            Assert.All(contacts.Where(c => !dialled.ContainsKey(c.PhoneNumber)), c => Assert.Equal(0, harness.Fake.CreateRequestsFor(c.PhoneNumber)));
        }

        foreach (var (zone, contact) in Zones.Zip(contacts))
            Assert.InRange(dialled[contact.PhoneNumber], LocalNineOnSunday(zone), LocalNineOnSunday(zone) + TimeSpan.FromHours(3));
        // Daylight time began that night: New York opened at 13:00 UTC, not 14:00, and Los Angeles at 16:00, not 17:00.
        Assert.Equal(new DateTimeOffset(2031, 3, 9, 13, 0, 0, TimeSpan.Zero), LocalNineOnSunday("America/New_York"));
        Assert.Equal(new DateTimeOffset(2031, 3, 9, 16, 0, 0, TimeSpan.Zero), LocalNineOnSunday("America/Los_Angeles"));
    }

    [Fact]
    public async Task A_contact_outside_its_window_waits_without_spending_an_attempt_and_is_dialled_when_it_opens()
    {
        var clock = new FakeTimeProvider(SaturdayEvening); // 15:00 in New York on a Saturday
        using var ticking = Ticking(clock);
        await using var harness = await StartAsync(clock, "Mon-Sat 09:00-20:00");
        var contact = new NewContact("+12125550123", "New Yorker"); // the zone comes from the number
        var batchId = await harness.App.Get<Batches>().CreateAsync(new NewBatch(harness.AgencyId, harness.MappingId, "Weekday mornings", 600, 1, [contact],
            MaxAttempts: 1, CallingHours: CallingHours.Parse("Mon-Fri 09:00-12:00")), CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(4));
        var waiting = (await harness.App.Get<Batches>().GetAsync(batchId, CancellationToken.None))!;
        Assert.Equal(("processing", 1, 1), (waiting.Status, waiting.Queued, waiting.WaitingForWindow));
        Assert.Equal(new DateTimeOffset(2031, 3, 10, 13, 0, 0, TimeSpan.Zero), waiting.NextWindowOpensAt); // Monday 09:00 EDT
        Assert.Equal(("queued", 0), (await harness.ContactsOfAsync(batchId)).Select(c => (c.Status, c.Attempts)).Single());
        Assert.Equal(0, harness.Fake.CreateRequestsFor(contact.PhoneNumber));

        clock.SetUtcNow(new DateTimeOffset(2031, 3, 10, 13, 1, 0, TimeSpan.Zero));
        await Eventually.That(() => harness.Fake.CreateRequestsFor(contact.PhoneNumber) == 1, "dialled on Monday morning", TimeSpan.FromSeconds(20));
        Assert.Equal(1, (await harness.ContactsOfAsync(batchId)).Single().Attempts);
    }

    // Every first window is Sunday's: at the start it is already past Saturday's in each zone.
    private static DateTimeOffset LocalNineOnSunday(string zone) =>
        new(TimeZoneInfo.ConvertTimeToUtc(new DateTime(2031, 3, 9, 9, 0, 0, DateTimeKind.Unspecified), TimeZoneInfo.FindSystemTimeZoneById(zone)), TimeSpan.Zero);

    // The clock also moves on with real time, so that waits and leases go by; the test jumps it forward to each window.
    private static Timer Ticking(FakeTimeProvider clock) => new(_ => clock.Advance(TimeSpan.FromMilliseconds(20)), null, 20, 20);

    private async Task<CampaignHarness> StartAsync(FakeTimeProvider clock, string callingHours) =>
        await CampaignHarness.StartAsync(await db.CreateExtraDatabaseAsync(), settings: new() { ["CALLING_HOURS"] = callingHours },
            services: s => s.AddSingleton<TimeProvider>(clock));
}
