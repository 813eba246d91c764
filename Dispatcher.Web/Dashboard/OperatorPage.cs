using System.Globalization;
using System.Net;
using Dispatcher.Jobs.CallingRules;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Web.Configuration;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// Our pages inside Hangfire's dashboard: hand-written RazorPages in Hangfire's LayoutPage. Hangfire
/// renders pages synchronously (its own pages read storage synchronously too), so data is read
/// here by waiting on our async queries, with the request's cancellation token.
/// </summary>
public abstract class OperatorPage(string title) : RazorPage
{
    protected string Title { get; } = title;
    protected HttpContext Http => Context.GetHttpContext();
    protected T Service<T>() where T : notnull => Http.RequestServices.GetRequiredService<T>();
    protected Redaction Redaction => Service<Redaction>();
    protected DateTimeOffset Now => Service<TimeProvider>().GetUtcNow();

    protected T Read<T>(Func<CancellationToken, Task<T>> query) => query(Http.RequestAborted).GetAwaiter().GetResult();

    public sealed override void Execute()
    {
        Layout = new LayoutPage(Title);
        Http.Response.Headers.CacheControl = "no-store";
        WriteLiteral(TelephonyBanner.Html(Service<TelephonyMode>()));
        Body();
    }

    protected abstract void Body();

    protected void Raw(string html) => WriteLiteral(html);
    protected void Text(object? value) => Write(value?.ToString());

    protected static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    protected long? QueryLong(string name) => long.TryParse(Query(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null;

    /// <summary>
    /// A POST form with the antiforgery token, as Hangfire's own POSTs carry it, and <paramref name="fields"/>
    /// before its button; none for read-only users. Works without JavaScript: the action answers with a redirect back.
    /// </summary>
    protected string Form(string action, string label, string style = "btn-default", string? fields = null)
    {
        if (IsReadOnly) return "";
        var field = Service<IOptions<AntiforgeryOptions>>().Value.FormFieldName;
        return $"""<form method="post" action="{Encode(Url.To(action))}" class="dispatcher-action">"""
               + $"""<input type="hidden" name="{Encode(field)}" value="{Encode(Context.AntiforgeryToken)}">{fields}"""
               + $"""<button type="submit" class="btn btn-sm {style}">{Encode(label)}</button></form>""";
    }

    protected string JobLink(string? jobId, string? text = null) =>
        jobId is null ? "" : $"""<a href="{Encode(Url.JobDetails(jobId))}">{Encode(text ?? "#" + jobId)}</a>""";

    protected static string Ago(DateTimeOffset now, DateTimeOffset? at) => BatchProgress.Ago(now, at);

    /// <summary>Who queued a contact or onboarding call again after it failed for good, and when.</summary>
    protected string Requeued(DateTimeOffset? at, string? by) => at is { } time ? Audit("dispatcher-requeued", "requeued", time, by) : "";

    /// <summary>"added by ops 5m ago", with the time itself on hover: the audit's when and by whom.</summary>
    protected string Audit(string style, string verb, DateTimeOffset at, string? by) =>
        $"""<div class="{style} text-muted small" title="{at:u}">{Encode(verb)} by {Encode(by)} {Encode(Ago(Now, at))}</div>""";

    protected static string StatusLabel(string status) =>
        $"""<span class="label label-default dispatcher-status dispatcher-status-{Encode(status)}">{Encode(status.Replace('_', ' '))}</span>""";

    /// <summary>A batch's bar: completed, failed, in progress, queued, cancelled, suppressed; data-bar marks the segments the live refresh moves.</summary>
    protected static string Bar(BatchProgress p)
    {
        var id = p.Batch.Id;
        string Segment(string part, double share, string style, int count) =>
            $"""<div class="progress-bar {style}" data-bar="bar.{id}.{part}" style="width: {share.ToString(CultureInfo.InvariantCulture)}%" title="{part}: {count}"></div>""";
        return $"""<div class="progress dispatcher-progress" role="img" aria-label="{p.Done} of {p.Batch.Total} done">"""
               + Segment("completed", p.Completed, "progress-bar-success", p.Batch.Completed)
               + Segment("failed", p.Failed, "progress-bar-danger", p.Batch.Failed)
               + Segment("active", p.Active, "progress-bar-info", p.InFlight)
               + Segment("queued", p.Queued, "dispatcher-bar-queued", p.Waiting)
               + Segment("cancelled", p.Cancelled, "dispatcher-bar-cancelled", p.Batch.Cancelled)
               + Segment("suppressed", p.Suppressed, "dispatcher-bar-suppressed", p.Batch.Suppressed)
               + "</div>";
    }

    /// <summary>The hours a batch's contacts are judged by, each in its own zone; whether the batch narrows its agency's.</summary>
    protected static string CallingHoursText(CallingHours? effective, BatchSummary batch) =>
        Encode(effective is null ? "none: the batch's hours share none of its agency's" : $"{effective} in each contact's time zone")
        + (batch.CallingHours is null ? "" : """ <span class="text-muted small">(narrowed by the batch)</span>""");

    /// <summary>A value the live refresh keeps current (GET /dispatcher/live, the keys of BatchProgress.AddLive).</summary>
    protected static string Live(string key, string value) => $"""<span data-live="{Encode(key)}">{Encode(value)}</span>""";
}
