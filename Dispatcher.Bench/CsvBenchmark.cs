using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Npgsql;

namespace Dispatcher.Bench;

/// <summary>
/// A CSV upload of many contacts through the real REST route (POST /api/batches/csv), sent
/// chunked from a generator so that neither side holds the file: how long it takes, and how much
/// memory the process needs for it (peak RSS, bytes allocated per row). Prints one JSON line.
/// </summary>
public static class CsvBenchmark
{
    private const string ApiKey = "bench-api-key";

    public static async Task<int> RunAsync(Arguments args)
    {
        var rows = args.Int("rows", 100_000);
        var runs = args.Int("runs", 3);
        await using var database = await RunDatabase.OpenAsync(args, "csv_bench");
        await using var service = BenchService.Start(database.ConnectionString, new Dictionary<string, string>
        {
            ["API_KEYS"] = ApiKey,
            ["ULTRAVOX_BASE_URL"] = "http://127.0.0.1:9", // nothing is due: the batches are scheduled a week ahead
        });
        var directory = service.Get<AgencyDirectory>();
        var agency = await directory.CreateAgencyAsync("Bench agency", "bench-ultravox-key", CancellationToken.None);
        var mapping = await directory.CreateAgentMappingAsync(agency, "c5e0b3e7-2a9d-4e1f-8b46-9d3c1f7a2e58", "Bench agent", "+15550000000", CancellationToken.None);
        using var client = new HttpClient { BaseAddress = new Uri(service.BaseUrl), Timeout = TimeSpan.FromMinutes(10) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        var url = $"/api/batches/csv?agency_id={agency}&agent_mapping_id={mapping}&name=bench&calls_per_minute=60&max_concurrent=5" +
                  $"&scheduled_for={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(7).ToString("O"))}";

        await UploadAsync(client, url, 1_000); // warm-up: JIT, pools, prepared statements
        GC.Collect();
        var rssBefore = Process.GetCurrentProcess().WorkingSet64;
        var seconds = new List<double>();
        long bodyBytes = 0, allocated = 0;
        for (var run = 0; run < runs; run++)
        {
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            bodyBytes = await UploadAsync(client, url, rows);
            seconds.Add(watch.Elapsed.TotalSeconds);
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        }
        await using (var db = NpgsqlDataSource.Create(database.ConnectionString))
        await using (var count = db.CreateCommand("SELECT count(*) FROM campaign_contacts"))
            if ((long)(await count.ExecuteScalarAsync())! != 1_000 + (long)rows * runs) throw new InvalidOperationException("contacts are missing");

        seconds.Sort();
        var median = seconds[seconds.Count / 2];
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            benchmark = "csv",
            rows,
            runs,
            body_mb = Math.Round(bodyBytes / 1024.0 / 1024.0, 1),
            seconds_median = Math.Round(median, 2),
            seconds_each = seconds.Select(s => Math.Round(s, 2)),
            rows_per_second = Math.Round(rows / median),
            allocated_bytes_per_row = Math.Round((double)allocated / rows), // last run; client and server together
            rss_before_mb = Math.Round(rssBefore / 1024.0 / 1024.0, 1),
            peak_rss_mb = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0, 1),
            peak_rss_includes = "this process: the service, the client generating the CSV, and the benchmark",
        }));
        return 0;
    }

    /// <summary>Sends rows as they are generated (chunked); returns the body's size.</summary>
    private static async Task<long> UploadAsync(HttpClient client, string url, int rows)
    {
        var content = new GeneratedCsv(rows);
        using var response = await client.PostAsync(url, content);
        if (response.StatusCode != HttpStatusCode.Created)
            throw new InvalidOperationException($"upload answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return content.Written;
    }

    private sealed class GeneratedCsv : HttpContent
    {
        private readonly int _rows;

        public GeneratedCsv(int rows)
        {
            _rows = rows;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
        }

        public long Written { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new StringBuilder();
            chunk.Append("phone_number,name,plan,city\n");
            for (var i = 0; i < _rows; i++)
            {
                chunk.Append("+1555").Append((1_000_000 + i).ToString(CultureInfo.InvariantCulture)).Append(",Contact ").Append(i)
                    .Append(",gold,Leeds\n");
                if (chunk.Length < 64 * 1024 && i < _rows - 1) continue;
                var bytes = Encoding.UTF8.GetBytes(chunk.ToString());
                await stream.WriteAsync(bytes);
                Written += bytes.Length;
                chunk.Clear();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
