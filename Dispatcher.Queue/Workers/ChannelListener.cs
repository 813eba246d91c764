namespace Dispatcher.Queue.Workers;

/// <summary>
/// An application channel the engine's listen connection also LISTENs to, e.g. rows inserted by
/// a database trigger that should be picked up at once. <see cref="Notify"/> runs on the
/// connection's thread: it must only signal, never wait.
/// </summary>
public sealed record ChannelListener(string Channel, Action<string> Notify);
