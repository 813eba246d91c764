using System.Diagnostics;
using Dispatcher.Tests.Web;

namespace Dispatcher.Testing;

/// <summary>Starts one of the solution's programs (built beside the tests) as a real child process.</summary>
public static class SiblingProgram
{
    /// <summary>"dotnet Dispatcher.X.dll args..." with output redirected; the caller adds environment and starts it.</summary>
    public static ProcessStartInfo For(string project, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory.Replace("Dispatcher.Tests", project), $"{project}.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{project} is not built at {dll}");
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>
    /// Starts the service (Dispatcher.Web) on <paramref name="databaseUrl"/> with the tests' credentials key,
    /// logging warnings only, and <paramref name="settings"/> on top; its output is read and dropped.
    /// </summary>
    public static Process StartService(string databaseUrl, IReadOnlyDictionary<string, string> settings)
    {
        var start = For("Dispatcher.Web");
        start.Environment["DATABASE_URL"] = databaseUrl;
        start.Environment["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in settings) start.Environment[name] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Until the service <paramref name="process"/> runs answers /readyz with success through <paramref name="api"/>.</summary>
    public static Task WaitUntilReadyAsync(Process process, HttpClient api) =>
        Eventually.That(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"the service exited with {process.ExitCode} before it was ready");
            try
            {
                using var response = await api.GetAsync("/readyz");
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
        }, "the service ready", TimeSpan.FromSeconds(60));
}
