using Dispatcher.Queue;
using Dispatcher.Web.Health;

var builder = WebApplication.CreateBuilder(args);

var databaseUrl = builder.Configuration["DATABASE_URL"];
if (string.IsNullOrWhiteSpace(databaseUrl))
{
    Console.Error.WriteLine("DATABASE_URL is not set: give a postgres:// URL or an Npgsql connection string.");
    return 1;
}

builder.Services.AddDispatcherQueue(databaseUrl);

var app = builder.Build();
app.MapHealth();
app.Run();
return 0;
