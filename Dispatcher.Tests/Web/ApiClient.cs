using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Dispatcher.Tests.Web;

/// <summary>HTTP calls to the service's REST API as a client would make them, and what its answers must look like.</summary>
public static class ApiClient
{
    public const string Key = "test-api-key";

    public static HttpClient For(DispatcherApp app, string? key = Key)
    {
        var client = app.CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>A client of the service running in its own process on <paramref name="port"/>.</summary>
    public static HttpClient ForPort(int port, string? key = Key)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        if (key is not null) client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>The answer is application/problem+json with the status in its body too.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var problem = await JsonAsync(response, expected);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsync(path, JsonContent.Create(body));

    public static Task<HttpResponseMessage> PostCsvAsync(this HttpClient client, string path, string csv) =>
        client.PostAsync(path, new StringContent(csv, System.Text.Encoding.UTF8, "text/csv"));

    public static async Task<long> CountAsync(string databaseUrl, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(databaseUrl);
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
