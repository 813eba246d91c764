namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// Between the Twilio SDK and the network: sends what the SDK addresses to https://api.twilio.com to
/// the configured base URL instead (the simulator or a test stand-in on 127.0.0.1), enforces the
/// request timeout on the injected clock (the SDK takes no cancellation token), and records each
/// answer in the current <see cref="TwilioExchange"/>.
/// </summary>
internal sealed class TwilioHttpHandler(Uri baseUrl, TimeSpan timeout, TimeProvider clock) : DelegatingHandler
{
    private readonly string _basePath = baseUrl.AbsolutePath.TrimEnd('/');

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        request.RequestUri = OnBaseUrl(request.RequestUri!);
        var exchange = TwilioExchange.Current;
        exchange?.Sending();
        using var deadline = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token, exchange?.CallerToken ?? CancellationToken.None);
        try
        {
            var response = await base.SendAsync(request, linked.Token);
            // Buffered, so the SDK can still read the body we keep.
            await response.Content.LoadIntoBufferAsync(linked.Token);
            exchange?.Answered(response, await response.Content.ReadAsStringAsync(linked.Token));
            return response;
        }
        catch (OperationCanceledException) when (exchange is not null && !exchange.CallerToken.IsCancellationRequested)
        {
            // Our deadline or HttpClient's real-time backstop: either way no answer in time.
            exchange.TimedOut = true;
            throw;
        }
    }

    // Next-page links come back as paths the SDK puts behind api.twilio.com: they may carry the base path already.
    private Uri OnBaseUrl(Uri sdkUrl)
    {
        var path = sdkUrl.AbsolutePath;
        if (_basePath.Length > 0 && !path.StartsWith(_basePath + "/", StringComparison.Ordinal)) path = _basePath + path;
        return new UriBuilder(sdkUrl) { Scheme = baseUrl.Scheme, Host = baseUrl.Host, Port = baseUrl.Port, Path = path }.Uri;
    }
}
