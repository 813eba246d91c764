using System.Text.Json;
using Dispatcher.Jobs.Campaigns;
using Dispatcher.Jobs.HangfireJobs;
using Hangfire.Dashboard;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// GET /dispatcher/jobs/{id}/origin: where a Hangfire job of ours comes from (its batch, contact or
/// onboarding call), as {"text", "href"}; 404 for jobs that are not ours. dispatcher.js puts the link
/// on Hangfire's job page, which has no extension point of its own in 1.8.
/// </summary>
public sealed class JobOrigin : IDashboardDispatcher
{
    public const string Route = "/dispatcher/jobs/(?<id>[0-9]{1,19})/origin";

    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var jobId = context.UriMatch.Groups["id"].Value;
        var queries = http.RequestServices.GetRequiredService<BatchQueries>();
        var url = new UrlHelper(context);
        var ct = http.RequestAborted;
        Hangfire.Storage.JobData? data;
        using (var connection = context.Storage.GetReadOnlyConnection()) data = connection.GetJobData(jobId);
        (string Text, string Href)? origin = null;
        if (data?.Job is { } job)
        {
            if (job.Type == typeof(DialBatchJob) && job.Args[0] is long batchId)
                origin = ($"Batch {batchId}", url.To($"/batches/{batchId}"));
            else if ((job.Type == typeof(CampaignCallJob) || job.Type == typeof(ResolveDialJob)) && job.Args[0] is long contactId
                     && await queries.BatchOfContactAsync(contactId, ct) is { } contactBatch)
                origin = ($"Contact {contactId} of batch {contactBatch}", url.To($"/batches/{contactBatch}?before={contactId + 1}#contact-{contactId}"));
        }
        if (origin is null && await http.RequestServices.GetRequiredService<OnboardingJobIds>().RowOfJobAsync(jobId, ct) is { } row)
            origin = ($"Onboarding call {row}", url.To($"/onboarding?before={row + 1}#onboarding-{row}"));
        if (origin is not { } found)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new { text = found.Text, href = found.Href }), ct);
    }
}
