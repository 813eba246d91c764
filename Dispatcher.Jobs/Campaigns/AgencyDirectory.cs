using System.Collections.Concurrent;
using Dispatcher.Jobs.CallingRules;
using Npgsql;

namespace Dispatcher.Jobs.Campaigns;

/// <summary>What a dial needs to know about its batch's agency and agent.</summary>
public sealed record DialSetup(long AgencyId, string? ApiKey, long? AgentMappingId, string? AgentId, string? FromNumber);

/// <summary>An agency as the dashboard lists it, with its own calling hours (null: the service's).</summary>
public sealed record AgencyListing(long Id, string Name, CallingHours? CallingHours);

/// <summary>
/// Agencies (with their encrypted Ultravox keys) and agent mappings. Reads for dialling are
/// cached for a short while (the seed's step 8) and dropped at once when this instance changes
/// them; other instances see a change when their entry expires.
/// </summary>
public sealed class AgencyDirectory(NpgsqlDataSource dataSource, CredentialCipher cipher, CampaignOptions options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(long Agency, long? Mapping), (DialSetup Setup, DateTimeOffset Until)> _cache = new();

    public async Task<long> CreateAgencyAsync(string name, string? ultravoxApiKey, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand(
            "INSERT INTO agencies (name, ultravox_api_key, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = ultravoxApiKey is null ? DBNull.Value : cipher.Encrypt(ultravoxApiKey), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<bool> SetApiKeyAsync(long agencyId, string? ultravoxApiKey, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("UPDATE agencies SET ultravox_api_key = $2, updated_at = $3 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        command.Parameters.Add(new NpgsqlParameter { Value = ultravoxApiKey is null ? DBNull.Value : cipher.Encrypt(ultravoxApiKey), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        var changed = await command.ExecuteNonQueryAsync(ct) > 0;
        Forget(agencyId);
        return changed;
    }

    public async Task<long> CreateAgentMappingAsync(long agencyId, string agentId, string agentName, string fromNumber, CancellationToken ct)
    {
        if (!UltravoxAgentId.IsValid(agentId)) throw new ArgumentException(UltravoxAgentId.Problem(agentId));
        if (!PhoneNumber.IsE164(fromNumber)) throw new ArgumentException($"caller number '{fromNumber}' is not in E.164 form (+ and 7-15 digits)");
        await using var command = dataSource.CreateCommand("""
            INSERT INTO agent_mappings (agency_id, ultravox_agent_id, ultravox_agent_name, from_number, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $5) RETURNING id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        command.Parameters.Add(new NpgsqlParameter { Value = agentId });
        command.Parameters.Add(new NpgsqlParameter { Value = agentName });
        command.Parameters.Add(new NpgsqlParameter { Value = fromNumber });
        command.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
        var id = (long)(await command.ExecuteScalarAsync(ct))!;
        Forget(agencyId);
        return id;
    }

    /// <summary>The agency's key and the batch's agent, from cache when fresh.</summary>
    public async Task<DialSetup> GetAsync(long agencyId, long? mappingId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue((agencyId, mappingId), out var hit) && hit.Until > now) return hit.Setup;
        await using var command = dataSource.CreateCommand("""
            SELECT a.ultravox_api_key, m.id, m.ultravox_agent_id, m.from_number
            FROM agencies a LEFT JOIN agent_mappings m ON m.id = $2 AND m.agency_id = a.id
            WHERE a.id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = agencyId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)mappingId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var setup = await reader.ReadAsync(ct)
            ? new DialSetup(agencyId,
                reader.IsDBNull(0) ? null : cipher.Decrypt(reader.GetFieldValue<byte[]>(0)),
                reader.IsDBNull(1) ? null : reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3))
            : new DialSetup(agencyId, null, null, null, null);
        _cache[(agencyId, mappingId)] = (setup, now + options.DirectoryCacheFor);
        return setup;
    }

    /// <summary>Agencies by id, at most <paramref name="limit"/>: few enough to pick from in a list.</summary>
    public async Task<IReadOnlyList<AgencyListing>> ListAsync(int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, name, calling_start_minute, calling_end_minute, calling_days FROM agencies ORDER BY id LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var agencies = new List<AgencyListing>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) agencies.Add(new AgencyListing(reader.GetInt64(0), reader.GetString(1), StoredHours.Read(reader, 2)));
        return agencies;
    }

    private void Forget(long agencyId)
    {
        foreach (var key in _cache.Keys.Where(k => k.Agency == agencyId)) _cache.TryRemove(key, out _);
    }
}
