using Dispatcher.Web.Dashboard;

namespace Dispatcher.Tests.Web.Dashboard;

/// <summary>What the dashboard never shows in job arguments and error texts.</summary>
public sealed class RedactionTests
{
    [Theory]
    [InlineData("api_key")]
    [InlineData("apiKey")]
    [InlineData("X-Api-Key")]
    [InlineData("key")]
    [InlineData("client_secret")]
    [InlineData("accessToken")]
    [InlineData("password")]
    [InlineData("Authorization")]
    public void Values_under_secret_looking_keys_are_hidden_at_any_depth(string key)
    {
        var json = $$"""{"outer":[{"{{key}}":"s3cr3t-value","name":"Sam"}]}""";

        var shown = new Redaction(showPhoneNumbers: false).Json(json);

        Assert.DoesNotContain("s3cr3t-value", shown);
        Assert.Contains(Redaction.Hidden, shown);
        Assert.Contains("Sam", shown);
    }

    [Fact]
    public void Phone_numbers_show_their_last_4_digits_unless_configured_otherwise()
    {
        const string json = """{"to":"+1 (415) 555-0123","note":"call +442071234567 later","count":12}""";

        var masked = new Redaction(showPhoneNumbers: false).Json(json);
        var shown = new Redaction(showPhoneNumbers: true).Json(json);

        Assert.Contains("\"****0123\"", masked);
        Assert.Contains("call ****4567 later", masked);
        Assert.Contains("12", masked);
        Assert.Contains("+1 (415) 555-0123", shown);
        Assert.Contains("+442071234567", shown);
    }

    [Fact]
    public void Error_text_masks_numbers_and_text_that_is_not_json_is_still_masked()
    {
        var redaction = new Redaction(showPhoneNumbers: false);

        Assert.Equal("Twilio refused ****0199: busy", redaction.Text("Twilio refused +14155550199: busy"));
        Assert.Equal("not json ****0199", redaction.Json("not json +14155550199"));
    }
}
