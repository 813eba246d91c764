using System.Text.Json;

namespace Dispatcher.Bench.Drill;

/// <summary>The drill's verdict, printed as one JSON line with the field names.</summary>
public sealed record DrillReport(
    int ContactsTotal,
    int ContactsFinal,
    int Lost,
    int DoubleDials,
    int ConcurrencyViolations,
    int PaceViolations,
    int Signups,
    double OnboardingCallsPerSignup,
    int Kills,
    int PgRestarts,
    double? RecoverySMax,
    double? KillRecoverySMax,
    IReadOnlyDictionary<string, int> HangfireFailedJobs,
    int BadInputsTried,
    int BadInputsRefusedClean)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
