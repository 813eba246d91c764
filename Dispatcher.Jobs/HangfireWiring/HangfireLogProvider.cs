using Hangfire.Logging;
using Microsoft.Extensions.Logging;
using HangfireLogLevel = Hangfire.Logging.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>
/// Hangfire logs through one process-wide provider, which each service instance in a process
/// replaces in turn (the tests and benchmarks run several); Hangfire's own, holding a stopped
/// instance's disposed logger factory, would then throw from every Hangfire component created
/// afterwards. This one creates its loggers when a line is written, and a disposed factory only
/// costs that line.
/// </summary>
public sealed class HangfireLogProvider(ILoggerFactory factory) : ILogProvider
{
    public ILog GetLogger(string name) => new LazyLog(factory, name);

    private sealed class LazyLog(ILoggerFactory factory, string name) : ILog
    {
        public bool Log(HangfireLogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            try
            {
                var logger = factory.CreateLogger(name);
                var level = logLevel switch
                {
                    HangfireLogLevel.Trace => LogLevel.Trace,
                    HangfireLogLevel.Debug => LogLevel.Debug,
                    HangfireLogLevel.Info => LogLevel.Information,
                    HangfireLogLevel.Warn => LogLevel.Warning,
                    HangfireLogLevel.Error => LogLevel.Error,
                    _ => LogLevel.Critical,
                };
                // Without a message Hangfire asks whether the level is on.
                if (messageFunc is null) return logger.IsEnabled(level);
                logger.Log(level, exception, "{Message}", messageFunc());
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }
}
