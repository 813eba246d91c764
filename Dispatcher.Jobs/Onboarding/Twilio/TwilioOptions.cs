namespace Dispatcher.Jobs.Onboarding.Twilio;

/// <summary>
/// One Twilio account: where its API lives, how to authenticate, the caller ID and how long one
/// request may take before its outcome counts as unknown. <see cref="AuthToken"/> also signs the
/// status callbacks, so it is needed even when requests authenticate with an API key.
/// </summary>
public sealed record TwilioOptions
{
    public string BaseUrl { get; set; } = "https://api.twilio.com";
    public string AccountSid { get; set; } = "";
    public string AuthToken { get; set; } = "";

    /// <summary>With <see cref="ApiKeySecret"/>, the Basic-auth pair instead of (AccountSid, AuthToken); the Account SID stays in the path.</summary>
    public string? ApiKeySid { get; set; }
    public string? ApiKeySecret { get; set; }

    public string FromNumber { get; set; } = "";
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    // The token and the key secret are credentials: keep them out of logs that print the options.
    public override string ToString() =>
        $"TwilioOptions {{ BaseUrl = {BaseUrl}, AccountSid = {AccountSid}, ApiKeySid = {ApiKeySid}, FromNumber = {FromNumber}, RequestTimeout = {RequestTimeout} }}";
}
