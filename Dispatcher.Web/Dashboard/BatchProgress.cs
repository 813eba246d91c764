using Dispatcher.Jobs.Campaigns;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// A batch's progress as its bar shows it: shares of the total (percent) and an ETA from the pace
/// actually achieved, or when the next calling window opens if no queued contact's is open now.
/// </summary>
/// <param name="WindowWait">How many queued contacts wait for their calling window and when the next opens; "none".</param>
public sealed record BatchProgress(BatchSummary Batch, double Completed, double Failed, double Active, double Queued, double Cancelled, double Suppressed,
    string Eta, string WindowWait)
{
    public int InFlight => Batch.Dialing + Batch.InProgress + Batch.Unknown;
    public int Waiting => Batch.Queued + Batch.Pending;
    // A suppressed contact is settled: never dialled, so it counts towards the batch's end.
    public int Done => Batch.Completed + Batch.Failed + Batch.Cancelled + Batch.Suppressed;

    /// <summary>Contacts per status, from the batch's counters.</summary>
    public static IReadOnlyList<(string Status, int Count)> ByStatus(BatchSummary b) =>
    [
        ("pending", b.Pending), ("queued", b.Queued), ("dialing", b.Dialing), ("in_progress", b.InProgress),
        ("unknown", b.Unknown), ("completed", b.Completed), ("failed", b.Failed), ("cancelled", b.Cancelled), ("suppressed", b.Suppressed),
    ];

    public static BatchProgress Of(BatchSummary b, DateTimeOffset now)
    {
        double Share(int n) => b.Total == 0 ? 0 : Math.Round(n * 100.0 / b.Total, 2);
        var remaining = b.Queued + b.Pending + b.Dialing + b.InProgress + b.Unknown;
        var eta = "";
        var opens = b.NextWindowOpensAt is { } next ? $"opens {Ago(now, next)}, {next:yyyy-MM-dd HH:mm} UTC" : null;
        if (b.Status == "processing" && remaining > 0 && NothingDiallableNow(b))
            eta = "waiting for calling window" + (opens is null ? "" : $" ({opens})");
        else if (b.Status == "processing" && remaining > 0)
        {
            // The pace achieved so far, never faster than the configured one.
            var perMinute = (double)b.CallsPerMinute;
            if (b.StartedAt is { } started && (now - started).TotalMinutes >= 1 && b.Completed + b.Failed > 0)
                perMinute = Math.Min(perMinute, (b.Completed + b.Failed) / (now - started).TotalMinutes);
            var minutes = remaining / perMinute;
            eta = minutes < 1 ? "< 1 min" : minutes < 120 ? $"{Math.Ceiling(minutes)} min" : $"{minutes / 60:0.#} h";
        }
        else if (b.Status == "paused" && remaining > 0) eta = b.Stopped ? "paused by stop everything" : "paused";
        else if (b.Status == "scheduled" && b.ScheduledFor is { } start) eta = "starts " + Ago(now, start);
        return new BatchProgress(b, Share(b.Completed), Share(b.Failed), Share(b.Dialing + b.InProgress + b.Unknown), Share(b.Queued + b.Pending),
            Share(b.Cancelled), Share(b.Suppressed), eta,
            b.WaitingForWindow == 0 ? "none" : $"{b.WaitingForWindow} waiting for their calling window" + (opens is null ? "" : $"; the next {opens}"));
    }

    // Every contact left is queued outside its window: no call is live and none can start before a window opens.
    private static bool NothingDiallableNow(BatchSummary b) => b.WaitingForWindow > 0 && b.WaitingForWindow == b.Queued + b.Pending
        && b.Dialing + b.InProgress + b.Unknown == 0;

    /// <summary>The numbers the live refresh updates, under the keys the pages mark with data-live / data-bar.</summary>
    public void AddLive(IDictionary<string, string> live)
    {
        var id = Batch.Id;
        live[$"batch.{id}.status"] = Batch.Status;
        live[$"batch.{id}.done"] = $"{Done} / {Batch.Total}";
        live[$"batch.{id}.eta"] = Eta;
        live[$"batch.{id}.completed"] = Batch.Completed.ToString();
        live[$"batch.{id}.failed"] = Batch.Failed.ToString();
        live[$"batch.{id}.active"] = InFlight.ToString();
        live[$"batch.{id}.queued"] = Waiting.ToString();
        live[$"batch.{id}.cancelled"] = Batch.Cancelled.ToString();
        live[$"batch.{id}.suppressed"] = Batch.Suppressed.ToString();
        live[$"batch.{id}.window"] = WindowWait;
        foreach (var (status, count) in ByStatus(Batch)) live[$"batch.{id}.count.{status}"] = count.ToString();
        live[$"bar.{id}.completed"] = Completed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        live[$"bar.{id}.failed"] = Failed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        live[$"bar.{id}.active"] = Active.ToString(System.Globalization.CultureInfo.InvariantCulture);
        live[$"bar.{id}.queued"] = Queued.ToString(System.Globalization.CultureInfo.InvariantCulture);
        live[$"bar.{id}.cancelled"] = Cancelled.ToString(System.Globalization.CultureInfo.InvariantCulture);
        live[$"bar.{id}.suppressed"] = Suppressed.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>"5m ago", "in 45m".</summary>
    public static string Ago(DateTimeOffset now, DateTimeOffset? at)
    {
        if (at is not { } time) return "";
        var span = now - time;
        var future = span < TimeSpan.Zero;
        if (future) span = -span;
        var text = span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds}s"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours}h"
            : $"{(int)span.TotalDays}d";
        return future ? "in " + text : text + " ago";
    }
}
