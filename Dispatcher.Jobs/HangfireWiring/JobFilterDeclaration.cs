namespace Dispatcher.Jobs.HangfireWiring;

/// <summary>A job filter this service adds to its own filter collection (not Hangfire's global one), made from its services.</summary>
public sealed record JobFilterDeclaration(Func<IServiceProvider, object> Create, int Order = -1);
