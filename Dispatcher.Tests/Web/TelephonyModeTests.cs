using Dispatcher.Tests.Web;
using Dispatcher.Web.Configuration;
using Microsoft.Extensions.Configuration;

namespace Dispatcher.Tests.Web;

/// <summary>When the service calls the real providers and when the built-in simulator, decided from its settings.</summary>
public sealed class TelephonyModeTests
{
    private static ServiceSettings Read(string environment, params (string Name, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "postgres://u:p@127.0.0.1:5432/db",
            ["CREDENTIALS_KEY"] = DispatcherApp.CredentialsKey,
        };
        foreach (var (name, value) in settings) values[name] = value;
        return ServiceSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), environment);
    }

    private static readonly (string, string)[] Twilio =
    [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"), ("TWILIO_AUTH_TOKEN", "token"),
        ("TWILIO_PHONE_NUMBER", "+15557654321"), ("API_BASE_URL", "https://dispatcher.example.com"),
    ];

    [Fact]
    public void The_look_up_timers_of_campaign_calls_hold_for_onboarding_calls_too()
    {
        var settings = Read("Production", [.. Twilio, ("RECONCILE_CALLS_AFTER_SECONDS", "15"), ("UNKNOWN_CALL_GRACE_SECONDS", "10")]);

        Assert.Equal(TimeSpan.FromSeconds(15), settings.Onboarding!.ReconcileAfter);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Onboarding.UnknownCallGrace);
    }

    [Fact]
    public void With_no_provider_configured_outside_production_calls_go_to_the_simulator_with_onboarding_on()
    {
        var settings = Read("Development", ("PORT", "8123"));

        Assert.True(settings.Telephony.Simulated);
        Assert.Equal("http://127.0.0.1:8123/simulator/ultravox", settings.Ultravox.BaseUrl);
        Assert.Equal("http://127.0.0.1:8123/simulator/twilio", settings.Twilio!.BaseUrl);
        Assert.Equal("http://127.0.0.1:8123", settings.Onboarding!.ApiBaseUrl);
        Assert.Single(settings.Campaigns.WebhookSecrets);
    }

    [Fact]
    public void Simulated_telephony_dials_at_any_hour_unless_CALLING_HOURS_is_set_and_live_keeps_the_default_window()
    {
        Assert.Equal("daily 00:00-24:00", Read("Development").CallingRules.DefaultHours.ToString());
        Assert.Equal("Mon-Fri 10:00-18:00", Read("Development", ("CALLING_HOURS", "Mon-Fri 10:00-18:00")).CallingRules.DefaultHours.ToString());
        Assert.Equal("Mon-Sat 09:00-20:00", Read("Production", [.. Twilio]).CallingRules.DefaultHours.ToString());
    }

    [Fact]
    public void In_production_with_no_provider_and_no_mode_the_service_refuses_to_guess()
    {
        var error = Assert.Throws<SettingsException>(() => Read("Production"));

        Assert.Equal("TELEPHONY_MODE", error.Variable);
        Assert.Contains("TELEPHONY_MODE=simulated", error.Message);
    }

    [Fact]
    public void In_production_the_simulator_runs_only_when_asked_for_by_name()
    {
        var settings = Read("Production", ("TELEPHONY_MODE", "simulated"), ("PORT", "10000"), ("RENDER_EXTERNAL_URL", "https://dispatcher.onrender.com"));

        Assert.True(settings.Telephony.Simulated);
        Assert.Equal("http://127.0.0.1:10000/simulator/twilio", settings.Twilio!.BaseUrl);
        Assert.Equal("https://dispatcher.onrender.com", settings.Onboarding!.ApiBaseUrl);
    }

    [Fact]
    public void Any_provider_setting_means_live_calls_even_in_development()
    {
        var settings = Read("Development", Twilio);

        Assert.False(settings.Telephony.Simulated);
        Assert.Null(settings.Simulator);
        Assert.Equal("https://api.twilio.com", settings.Twilio!.BaseUrl);
        Assert.Equal("https://api.ultravox.ai", settings.Ultravox.BaseUrl);
    }

    [Fact]
    public void Live_mode_without_any_provider_is_a_configuration_error()
    {
        var error = Assert.Throws<SettingsException>(() => Read("Development", ("TELEPHONY_MODE", "live")));

        Assert.Equal("TELEPHONY_MODE", error.Variable);
        Assert.Contains("ULTRAVOX_WEBHOOK_SECRETS", error.Message);
    }

    [Fact]
    public void Simulated_mode_ignores_real_credentials_and_says_so()
    {
        var settings = Read("Production", [("TELEPHONY_MODE", "simulated"), .. Twilio]);

        Assert.True(settings.Telephony.Simulated);
        Assert.Contains("TWILIO_ACCOUNT_SID ignored", settings.Telephony.Reason);
        Assert.NotEqual("AC0123456789abcdef0123456789abcdef", settings.Twilio!.AccountSid);
    }

    [Fact]
    public void Demo_data_never_dials_real_providers()
    {
        var error = Assert.Throws<SettingsException>(() => Read("Development", [("DEMO_DATA", "true"), .. Twilio]));

        Assert.Equal("DEMO_DATA", error.Variable);
    }

    [Theory]
    [InlineData("TELEPHONY_MODE", "sandbox")]
    [InlineData("SIMULATOR_CALL_SECONDS", "ten")]
    [InlineData("SIMULATOR_NO_ANSWER_PERCENT", "120")]
    [InlineData("PORT", "70000")]
    public void A_malformed_simulation_setting_is_named(string name, string value)
    {
        var error = Assert.Throws<SettingsException>(() => Read("Development", (name, value)));

        Assert.Equal(name, error.Variable);
    }

    [Fact]
    public void Every_instance_derives_the_same_simulated_secrets_from_the_credentials_key()
    {
        var one = Read("Development");
        var two = Read("Development");

        Assert.Equal(one.Simulator!.UltravoxWebhookSecret, two.Simulator!.UltravoxWebhookSecret);
        Assert.Equal(one.Twilio!.AuthToken, two.Twilio!.AuthToken);
        Assert.Matches("^AC[0-9a-f]{32}$", one.Twilio.AccountSid);
    }
}
