using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dispatcher.Testing;

namespace Dispatcher.Tests.Shipping;

/// <summary>
/// ./run.sh as a new user starts it, in a child process with its own state folder
/// (DISPATCHER_LOCAL_DIR) so the checkout's .local is left alone. Stopped with SIGTERM like Ctrl-C.
/// </summary>
public sealed class RunScript : IAsyncDisposable
{
    // Settings a developer's shell might carry that would change what run.sh does.
    private static readonly string[] Inherited = ["DATABASE_URL", "PORT", "TELEPHONY_MODE", "DEMO_DATA", "API_BASE_URL", "API_KEYS", "CREDENTIALS_KEY",
        "ULTRAVOX_BASE_URL", "ULTRAVOX_WEBHOOK_SECRETS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT"];

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RunScript(Process process, string localDir, int port)
    {
        _process = process;
        LocalDir = localDir;
        Port = port;
    }

    public string LocalDir { get; }
    public int Port { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The URL run.sh prints once the service is ready, for a new user to open.</summary>
    public string? ReadyUrl { get; private set; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The API key run.sh generated into its secrets file.</summary>
    public string ApiKey => File.ReadAllLines(Path.Combine(LocalDir, "secrets.env")).Single(l => l.StartsWith("API_KEYS=", StringComparison.Ordinal))["API_KEYS=".Length..];

    /// <summary>The local cluster's port, as run.sh said it started it; null when it started none.</summary>
    /// <summary>The port PostgreSQL last started on (run.sh tries the next free one when its first pick was taken meanwhile).</summary>
    public int? PostgresPort => Regex.Matches(Output, @"PostgreSQL: starting on 127\.0\.0\.1:(\d+)") is { Count: > 0 } m ? int.Parse(m[^1].Groups[1].Value) : null;

    public static RunScript Start(string localDir, IReadOnlyDictionary<string, string>? environment = null, params string[] args)
    {
        var port = Web.DispatcherApp.FreePort();
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Checkout.Root };
        start.ArgumentList.Add(Checkout.PathOf("run.sh"));
        foreach (var arg in args.Concat(["--port", port.ToString()])) start.ArgumentList.Add(arg);
        foreach (var name in Inherited) start.Environment.Remove(name);
        start.Environment["DISPATCHER_LOCAL_DIR"] = localDir;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var script = new RunScript(new Process { StartInfo = start }, localDir, port);
        script._process.OutputDataReceived += (_, e) => script.Record(e.Data);
        script._process.ErrorDataReceived += (_, e) => script.Record(e.Data);
        script._process.Start();
        script._process.BeginOutputReadLine();
        script._process.BeginErrorReadLine();
        return script;
    }

    /// <summary>Until run.sh prints the dashboard URL (it builds the service first, so this takes a while).</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout));
        if (first == _ready.Task) return;
        throw new TimeoutException(first == exited
            ? $"run.sh exited with {_process.ExitCode} before it was ready:\n{Output}"
            : $"run.sh not ready after {timeout}:\n{Output}");
    }

    /// <summary>SIGTERM, as a service manager or Ctrl-C would stop it; then its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { await StopAsync(TimeSpan.FromSeconds(60)); }
            catch (TimeoutException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }

    private void Record(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        const string ready = "Dispatcher is ready: ";
        if (line.IndexOf(ready, StringComparison.Ordinal) is var at and >= 0)
        {
            // The line is bold on a terminal: the URL ends where the escape sequence starts.
            ReadyUrl = line[(at + ready.Length)..].Split('\u001b')[0].Trim();
            _ready.TrySetResult();
        }
    }
}

/// <summary>
/// Tests that build and start the whole service through run.sh: they run alone, after the
/// parallel tests, so their builds do not slow the engine's latency tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WholeServiceCollection
{
    public const string Name = "whole service";
}
