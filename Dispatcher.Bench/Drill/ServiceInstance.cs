using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Dispatcher.Bench.Drill;

/// <summary>
/// One instance of the service as its own OS process on a fixed port of 127.0.0.1 (kept across
/// restarts), its output appended to a log file. Killed with SIGKILL, started again.
/// </summary>
public sealed class ServiceInstance(string name, Func<ProcessStartInfo> startInfo, IReadOnlyDictionary<string, string> settings, string logFile)
    : IAsyncDisposable
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly int _port = FreePort();
    private Process? _process;
    private StreamWriter? _log;

    public string Name { get; } = name;

    public string BaseUrl => $"http://127.0.0.1:{_port}";

    /// <summary>Up and answering /readyz since its last start; false from the moment it is killed.</summary>
    public bool IsReady { get; private set; }

    public int? ProcessId => _process?.Id;

    public async Task StartAsync(CancellationToken ct)
    {
        var start = startInfo();
        foreach (var (key, value) in settings) start.Environment[key] = value;
        start.Environment["ASPNETCORE_URLS"] = BaseUrl;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        _log ??= new StreamWriter(logFile, append: true) { AutoFlush = true };
        var log = _log;
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Write(log, $"==== {Name} started as pid {process.Id} at {DateTimeOffset.UtcNow:O}");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!await AnswersAsync(ct))
        {
            if (process.HasExited) throw new InvalidOperationException($"{Name} exited with {process.ExitCode} while starting; see {logFile}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name} was not ready after 120 s; see {logFile}");
            await Task.Delay(200, ct);
        }
        IsReady = true;
    }

    /// <summary>SIGKILL: no shutdown, no hand-over; whatever it was doing stops mid-way.</summary>
    public async Task KillAsync()
    {
        IsReady = false;
        if (_process is not { HasExited: false } process) return;
        process.Kill();
        await process.WaitForExitAsync();
        if (_log is not null) Write(_log, $"==== {Name} (pid {process.Id}) killed at {DateTimeOffset.UtcNow:O}");
    }

    private async Task<bool> AnswersAsync(CancellationToken ct)
    {
        try
        {
            using var response = await Probe.GetAsync(BaseUrl + "/readyz", ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log)
        {
            try { log.WriteLine(line); }
            catch (ObjectDisposedException) { } // output still draining after the drill closed the log
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        if (_log is not null)
        {
            lock (_log) _log.Dispose();
        }
    }
}
