using System.Reflection;
using Dispatcher.Jobs.HangfireJobs;

namespace Dispatcher.Tests.Hangfire;

/// <summary>
/// Hangfire stores a job's type, method and parameter types: a rename would leave stored jobs
/// (scheduled retries, failed calls waiting for Requeue) unperformable during and after a rolling
/// deploy. These pins fail first; change them only with a plan for the stored jobs.
/// </summary>
public sealed class JobSignatureTests
{
    [Fact]
    public void The_onboarding_call_job_keeps_its_stored_signature() =>
        Assert.Equal("Dispatcher.Jobs.HangfireJobs.OnboardingCallJob.PerformAsync(System.Int64, System.String, Hangfire.Server.PerformContext, System.Threading.CancellationToken)",
            Signature(typeof(OnboardingCallJob)));

    [Fact]
    public void The_onboarding_dispatch_job_keeps_its_stored_signature() =>
        Assert.Equal("Dispatcher.Jobs.HangfireJobs.OnboardingDispatchJob.PerformAsync(System.Threading.CancellationToken)",
            Signature(typeof(OnboardingDispatchJob)));

    /// <summary>The type's one public instance method, as Hangfire finds it again: type, name, parameter types.</summary>
    private static string Signature(Type job)
    {
        var method = Assert.Single(job.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly));
        return $"{job.FullName}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.FullName))})";
    }
}
