using Hangfire;
using Hangfire.Logging;
using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;
using Npgsql;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// The storage Hangfire's dashboard reads: Hangfire.PostgreSql's own for everything, except that
/// its monitoring API is ours (<see cref="DashboardMonitoringApi"/>), which stays fast with a
/// million jobs. Only the dashboard uses it; servers and clients keep the plain storage.
/// </summary>
public sealed class DashboardJobStorage : JobStorage
{
    private readonly JobStorage _inner;
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly RecentCount _succeeded = new(TimeSpan.FromSeconds(10), TimeProvider.System);

    public DashboardJobStorage(JobStorage inner, NpgsqlDataSource dataSource, string schema)
    {
        _inner = inner;
        _dataSource = dataSource;
        _schema = schema;
        JobExpirationTimeout = inner.JobExpirationTimeout;
    }

    public override IMonitoringApi GetMonitoringApi() => new DashboardMonitoringApi(_inner.GetMonitoringApi(), _dataSource, _schema, _succeeded);

    public override IStorageConnection GetConnection() => _inner.GetConnection();

    public override IStorageConnection GetReadOnlyConnection() => _inner.GetReadOnlyConnection();

    public override bool LinearizableReads => _inner.LinearizableReads;

    public override bool HasFeature(string featureId) => _inner.HasFeature(featureId);

#pragma warning disable CS0618 // IServerComponent is obsolete in Hangfire, yet still part of what a storage hands over
    public override IEnumerable<IServerComponent> GetComponents() => _inner.GetComponents();
#pragma warning restore CS0618

    public override IEnumerable<IBackgroundProcess> GetServerRequiredProcesses() => _inner.GetServerRequiredProcesses();

    public override IEnumerable<IBackgroundProcess> GetStorageWideProcesses() => _inner.GetStorageWideProcesses();

    public override IEnumerable<IStateHandler> GetStateHandlers() => _inner.GetStateHandlers();

    public override void WriteOptionsToLog(ILog logger) => _inner.WriteOptionsToLog(logger);

    public override string ToString() => _inner.ToString() ?? "";
}
