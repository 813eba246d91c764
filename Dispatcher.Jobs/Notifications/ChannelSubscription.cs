namespace Dispatcher.Jobs.Notifications;

/// <summary>
/// A PostgreSQL NOTIFY channel this instance listens to, e.g. rows inserted by a trigger that
/// should be picked up at once. <see cref="Notify"/> runs on the listen connection's thread: it
/// must only signal, never wait. After a reconnect it is called with an empty payload, since
/// notifications may have been missed meanwhile.
/// </summary>
public sealed record ChannelSubscription(string Channel, Action<string> Notify);
