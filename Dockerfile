# Dispatcher: multi-stage build. The build stage runs what CI runs (restore, then publish);
# the runtime stage is the chiseled ASP.NET image: no shell, no package manager, non-root.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the restore layer is reused until a dependency changes.
COPY Directory.Build.props ./
COPY Dispatcher.Jobs/Dispatcher.Jobs.csproj Dispatcher.Jobs/
COPY Dispatcher.Web/Dispatcher.Web.csproj Dispatcher.Web/
RUN dotnet restore Dispatcher.Web/Dispatcher.Web.csproj
COPY Dispatcher.Jobs/ Dispatcher.Jobs/
COPY Dispatcher.Web/ Dispatcher.Web/
RUN dotnet publish Dispatcher.Web/Dispatcher.Web.csproj -c Release --no-restore -o /app -p:UseAppHost=false

# -extra: with ICU and tzdata, which recurring jobs' IANA time zones need.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled-extra AS runtime
WORKDIR /app
COPY --from=build /app ./
# Render sets PORT; elsewhere the service listens on 8080.
ENV PORT=8080
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["dotnet", "Dispatcher.Web.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "Dispatcher.Web.dll"]
