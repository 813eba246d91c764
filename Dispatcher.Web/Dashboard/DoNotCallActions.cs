using System.Text.RegularExpressions;
using Dispatcher.Jobs.CallingRules;

namespace Dispatcher.Web.Dashboard;

/// <summary>
/// POST /do-not-call/{agency}/add (phone_number, reason) and /do-not-call/{agency}/remove (entry):
/// the agency's list changed through <see cref="DoNotCallList"/>, as the REST API changes it,
/// recorded under the signed-in user; back to the list with what happened.
/// </summary>
public sealed class DoNotCallActions : OperatorAction
{
    public const string Route = "/do-not-call/(?<agency>\\d{1,18})/(?<action>add|remove)";

    protected override async Task<string> ActAsync(Match route, IFormCollection form, IServiceProvider services, string user, CancellationToken ct)
    {
        var agencyId = long.Parse(route.Groups["agency"].Value);
        var list = services.GetRequiredService<DoNotCallList>();
        var outcome = route.Groups["action"].Value == "add"
            ? await AddAsync(list, agencyId, form["phone_number"].ToString(), form["reason"].ToString(), user, ct)
            : await RemoveAsync(list, agencyId, form["entry"].ToString(), user, ct);
        return $"/do-not-call?agency={agencyId}&done={outcome}";
    }

    private static async Task<string> AddAsync(DoNotCallList list, long agencyId, string number, string reason, string user, CancellationToken ct)
    {
        var (valid, _) = DoNotCallList.Check([("phone_number", number)]);
        if (valid.Count == 0) return "invalid";
        // As the REST API: at most 500 characters, refused rather than cut.
        if (reason.Trim() is { Length: > 500 }) return "reason-too-long";
        return await list.AddAsync(agencyId, valid, reason.Trim() is { Length: > 0 } given ? given : null, user, ct) switch
        {
            null => "no-agency",
            0 => "already-listed",
            _ => "added",
        };
    }

    private static async Task<string> RemoveAsync(DoNotCallList list, long agencyId, string entry, string user, CancellationToken ct)
    {
        if (!long.TryParse(entry, out var entryId) || await list.NumberInForceAsync(agencyId, entryId, ct) is not { } number) return "not-listed";
        return await list.RemoveAsync(agencyId, [number], user, ct) switch
        {
            null => "no-agency",
            0 => "not-listed",
            _ => "removed",
        };
    }
}
