namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Why a call failed for good, as Hangfire's Failed list shows it. Never thrown: it only carries
/// the reason into a FailedState, so the job's page reads as a sentence, without a stack trace.
/// </summary>
public sealed class CallFailedException(string reason) : Exception(reason);
