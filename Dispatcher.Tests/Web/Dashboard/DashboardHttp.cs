using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>The dashboard over HTTP as a browser's requests look: cookies kept, redirects not followed, forms posted with the page's antiforgery token.</summary>
public static partial class DashboardHttp
{
    /// <summary>Settings for a dashboard where everyone signs in: "ops" may act, "viewer" only looks. A new copy each time, for tests to add to.</summary>
    public static Dictionary<string, string> WithSignIn => new()
    {
        ["DASHBOARD_USERNAME"] = "ops",
        ["DASHBOARD_PASSWORD"] = "correct horse",
        ["DASHBOARD_READONLY_USERNAME"] = "viewer",
        ["DASHBOARD_READONLY_PASSWORD"] = "look only",
    };

    /// <summary>A client that keeps cookies and does not follow redirects, as a browser's requests look.</summary>
    public static (HttpClient Client, CookieContainer Cookies) Browser(DispatcherApp app)
    {
        var cookies = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri(app.BaseUrl) };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        return (client, cookies);
    }

    /// <summary>A browser signed in through the login form, and the token of its pages' forms.</summary>
    public static async Task<(HttpClient Browser, string Token)> SignInAsync(DispatcherApp app, string user, string password)
    {
        var (browser, _) = Browser(app);
        var form = await GetHtmlAsync(browser, "/hangfire/login", HttpStatusCode.OK);
        var token = Token(form);
        Assert.Equal(HttpStatusCode.SeeOther, (await PostAsync(browser, "/hangfire/login", token, ("username", user), ("password", password), ("return", "/"))).StatusCode);
        return (browser, token);
    }

    public static async Task<string> GetHtmlAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var response = await client.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string? token, params (string Name, string Value)[] fields)
    {
        var all = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        if (token is not null) all.Add(new("__csrf", token));
        return client.PostAsync(path, new FormUrlEncodedContent(all));
    }

    public static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, AuthenticationHeaderValue auth)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        return client.SendAsync(request);
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public static string Token(string html) => CsrfField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value)
        : throw new InvalidOperationException("the page has no antiforgery field");

    [GeneratedRegex("""name="__csrf" value="([^"]+)""")]
    private static partial Regex CsrfField();
}
