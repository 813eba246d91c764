using System.Reflection;
using Dispatcher.Jobs.HangfireJobs;

namespace Dispatcher.Tests.Hangfire;

/// <summary>
/// Hangfire stores each job's type, method and parameter types: renaming any of them breaks the
/// jobs already stored (scheduled, failed, recurring) during a rolling deploy. These pin them:
/// change one only with a plan for the jobs already stored.
/// </summary>
public sealed class JobSignatureTests
{
    private static readonly string[] PinnedSignatures =
    [
        "Dispatcher.Jobs.HangfireJobs.DialBatchJob.Run(Int64, String, PerformContext, CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.ResolveDialJob.Run(Int64, Int32, CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.CampaignTickJob.Run(CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.ReconcileCallsJob.Run(CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.CampaignCallJob.CallAgain(Int64, String, PerformContext, CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.OnboardingCallJob.Run(Int64, String, PerformContext, CancellationToken)",
        "Dispatcher.Jobs.HangfireJobs.OnboardingDispatchJob.Run(CancellationToken)",
    ];

    public static TheoryData<string> Pinned() => new(PinnedSignatures);

    [Theory]
    [MemberData(nameof(Pinned))]
    public void A_stored_jobs_type_and_method_still_exist_with_the_same_parameters(string signature) =>
        Assert.Contains(signature, Signatures());

    [Fact]
    public void Every_job_class_is_pinned() =>
        Assert.Equal(PinnedSignatures.Order(), Signatures().Order());

    private static IEnumerable<string> Signatures() =>
        typeof(DialBatchJob).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(DialBatchJob).Namespace && t.Name.EndsWith("Job", StringComparison.Ordinal))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(m => $"{t.FullName}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})"));
}
