using System.Diagnostics;
using Dispatcher.Testing;
using Dispatcher.Tests.Web;

namespace Dispatcher.Tests.Infrastructure;

/// <summary>Which PostgreSQL server the tests run on: a server of the user's, a Testcontainers container, or a throwaway cluster.</summary>
public sealed class TestServerChoiceTests
{
    [Fact]
    public async Task A_server_in_DISPATCHER_TEST_DATABASE_URL_is_used_as_it_is()
    {
        var report = new StringWriter();

        var server = await TestServerChoice.StartAsync(report, "postgres://tester:secret@db.example:5433/tests");

        Assert.Null(server.Lifetime);
        Assert.Equal("Dispatcher tests use PostgreSQL from the server in DISPATCHER_TEST_DATABASE_URL (DISPATCHER_TEST_DATABASE_URL is set).",
            report.ToString().Trim());
    }

    [Fact]
    public async Task Without_a_Docker_engine_that_answers_the_tests_fall_through_quickly_to_a_throwaway_cluster_and_say_why()
    {
        var nothingListens = new Uri($"tcp://127.0.0.1:{DispatcherApp.FreePort()}");
        var report = new StringWriter();
        var clock = Stopwatch.StartNew();

        var server = await TestServerChoice.StartAsync(report, url: null, nothingListens);

        await using (server.Lifetime)
        {
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
            Assert.IsType<ThrowawayPostgres>(server.Lifetime);
            var line = Assert.Single(report.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("Dispatcher tests use PostgreSQL from a throwaway cluster from /", line);
            Assert.Contains("(DISPATCHER_TEST_DATABASE_URL is not set and no Docker engine answers: ", line);
        }
    }
}
