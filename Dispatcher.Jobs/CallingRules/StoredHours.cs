using Npgsql;

namespace Dispatcher.Jobs.CallingRules;

/// <summary>Calling hours as three columns (start minute, end minute, days): all NULL for none.</summary>
public static class StoredHours
{
    public static CallingHours? Read(NpgsqlDataReader reader, int first) =>
        reader.IsDBNull(first) ? null : new CallingHours(reader.GetInt32(first), reader.GetInt32(first + 1), reader.GetInt32(first + 2));

    public static object[] Values(CallingHours? hours) =>
        hours is null ? [DBNull.Value, DBNull.Value, DBNull.Value] : [hours.StartMinute, hours.EndMinute, hours.Days];
}
