using System.Net;
using System.Text.RegularExpressions;

namespace Dispatcher.Bench;

/// <summary>
/// One dashboard page as the benchmark fetches it: its path, and what one of its rows looks like
/// in the HTML (a job's list row, a state card, a contact's row, a metric), so that an empty or
/// broken page cannot pass for a fast one. /stats is the POST the dashboard's script sends every
/// few seconds, with the antiforgery token its pages carry.
/// </summary>
public sealed record DashboardPage(string Name, string Path, string RowPattern, string[]? StatsMetrics = null)
{
    public const string JobRow = "class=\"js-jobs-list-row", StateCard = "class=\"state-card ", Metric = "data-metric=\"";

    /// <summary>Fetches the page whole; answers how many rows it showed.</summary>
    public async Task<int> FetchAsync(HttpClient http, Antiforgery antiforgery)
    {
        using var request = new HttpRequestMessage(StatsMetrics is null ? HttpMethod.Get : HttpMethod.Post, Path);
        if (StatsMetrics is not null)
        {
            request.Headers.Add(antiforgery.Header, antiforgery.Token);
            request.Content = new FormUrlEncodedContent(StatsMetrics.Select(m => KeyValuePair.Create("metrics[]", m)));
        }
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{request.Method} {Path} answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 300)]}");
        return Regex.Count(body, RowPattern);
    }

    /// <summary>The antiforgery header and token a dashboard page carries in its meta tags (its cookie stays in the client).</summary>
    public sealed record Antiforgery(string Header, string Token)
    {
        public static Antiforgery From(string html) => new(Meta(html, "csrf-header"), Meta(html, "csrf-token"));

        private static string Meta(string html, string name) =>
            Regex.Match(html, $"<meta name=\"{name}\" content=\"([^\"]+)\"") is { Success: true } m
                ? WebUtility.HtmlDecode(m.Groups[1].Value)
                : throw new InvalidOperationException($"the dashboard's page has no {name} meta tag");
    }
}
