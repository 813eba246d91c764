namespace Dispatcher.Jobs.Campaigns.Ultravox;

/// <summary>A look-up that Ultravox refused or never answered. <see cref="Status"/> is null when no HTTP answer came.</summary>
public sealed class UltravoxException(int? status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int? Status { get; } = status;
}
