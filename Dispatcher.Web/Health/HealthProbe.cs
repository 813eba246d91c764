namespace Dispatcher.Web.Health;

/// <summary>
/// `dotnet Dispatcher.Web.dll healthcheck`: exits 0 when the service on this machine answers
/// /healthz, so container health checks work in the runtime image, which has no shell or curl.
/// </summary>
public static class HealthProbe
{
    public static async Task<int> RunAsync()
    {
        var port = Environment.GetEnvironmentVariable("PORT") is { Length: > 0 } set ? set : "8080";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var answer = await http.GetAsync($"http://127.0.0.1:{port}/healthz");
            Console.WriteLine($"/healthz: {(int)answer.StatusCode}");
            return answer.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"/healthz: {ex.Message}");
            return 1;
        }
    }
}
