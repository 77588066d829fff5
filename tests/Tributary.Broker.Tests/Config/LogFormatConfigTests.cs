using System.Collections;
using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

/// <summary><c>tributary.log.format</c>: text by default, json on request, anything else refused at start-up.</summary>
public sealed class LogFormatConfigTests
{
    [Fact]
    public void Log_format_defaults_to_text()
    {
        Assert.False(BrokerConfigLoader.Load([], new Hashtable(), out _).LogFormatJson);
    }

    [Fact]
    public void Log_format_json_selects_json_lines()
    {
        Assert.True(BrokerConfigLoader.Load(["--override", "tributary.log.format=json"], new Hashtable(), out _).LogFormatJson);
    }

    [Fact]
    public void Log_format_other_than_text_or_json_fails_with_the_allowed_values()
    {
        var error = Assert.Throws<ConfigException>(() => BrokerConfigLoader.Load(["--override", "tributary.log.format=xml"], new Hashtable(), out _));

        Assert.Contains("'tributary.log.format'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'xml'", error.Message, StringComparison.Ordinal);
        Assert.Contains("json", error.Message, StringComparison.Ordinal);
    }
}
