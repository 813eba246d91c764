namespace Dispatcher.Jobs.Onboarding;

/// <summary>
/// Whether the attempt's call exists is not known yet (a timeout, a 5xx, another performance still
/// dialling). Thrown out of the job so the engine comes back later, when the call is looked up
/// before anything is dialled again.
/// </summary>
public sealed class CallOutcomeUnknownException(string message) : Exception(message);
