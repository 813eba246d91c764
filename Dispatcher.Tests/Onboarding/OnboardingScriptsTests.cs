using System.Xml.Linq;
using Dispatcher.Jobs.Onboarding;
using Npgsql;

namespace Dispatcher.Tests.Onboarding;

public sealed class OnboardingScriptsTests
{
    [Fact]
    public void With_a_voice_agent_the_TwiML_says_the_script_pauses_and_connects_the_stream()
    {
        var options = new OnboardingOptions { Voice = "Polly.Amy", VoiceAgentStreamUrl = "wss://agent.example.com/stream?a=1&b=2" };
        // Render reads no row: the data source is never opened.
        using var dataSource = NpgsqlDataSource.Create("Host=unused");

        var twiml = XDocument.Parse(new OnboardingScripts(dataSource, options).Render("trial", """{"first_name": "Bo <b> & \"Co\""}"""));

        var elements = twiml.Root!.Elements().ToArray();
        Assert.Equal(["Say", "Pause", "Connect"], elements.Select(e => e.Name.LocalName));
        Assert.Equal("Polly.Amy", elements[0].Attribute("voice")?.Value);
        Assert.Contains("Bo <b> & \"Co\"", elements[0].Value);
        Assert.Equal("wss://agent.example.com/stream?a=1&b=2", elements[2].Element("Stream")?.Attribute("url")?.Value);
    }
}
