namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>Where the Ultravox API lives and how long one request may take before its outcome counts as unknown.</summary>
public sealed record UltravoxOptions
{
    public string BaseUrl { get; set; } = "https://api.ultravox.ai";
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
