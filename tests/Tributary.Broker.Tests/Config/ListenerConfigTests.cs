using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public sealed class ListenerConfigTests
{
    [Fact]
    public void Listeners_parse_names_hosts_and_ports()
    {
        var config = Config(
            ("listeners", "PLAINTEXT://127.0.0.1:9092,internal://broker-0.local:19092"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT"));

        Assert.Collection(config.Listeners,
            l => Assert.Equal(new ListenerEndpoint("PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT"), l),
            l => Assert.Equal(new ListenerEndpoint("INTERNAL", "broker-0.local", 19092, "PLAINTEXT"), l));
    }

    [Fact]
    public void Listener_with_empty_host_binds_all_interfaces_and_is_advertised_as_localhost()
    {
        var config = Config(("listeners", "PLAINTEXT://:9192"));

        Assert.True(Assert.Single(config.Listeners).BindsAllInterfaces);
        Assert.Equal("PLAINTEXT://localhost:9192", Assert.Single(config.AdvertisedListeners).ToString());
    }

    [Fact]
    public void Listener_on_wildcard_address_is_advertised_as_localhost()
    {
        Assert.Equal("PLAINTEXT://localhost:9092", Assert.Single(Config(("listeners", "PLAINTEXT://0.0.0.0:9092")).AdvertisedListeners).ToString());
    }

    [Fact]
    public void Listener_accepts_bracketed_ipv6_hosts()
    {
        var listener = Assert.Single(Config(("listeners", "PLAINTEXT://[::1]:9092")).Listeners);

        Assert.Equal("::1", listener.Host);
        Assert.Equal("PLAINTEXT://[::1]:9092", listener.ToString());
    }

    [Fact]
    public void Explicit_advertised_listeners_replace_the_defaults()
    {
        var config = Config(("listeners", "PLAINTEXT://:9092"), ("advertised.listeners", "PLAINTEXT://broker-1.example:9092"));

        Assert.Equal("PLAINTEXT://broker-1.example:9092", Assert.Single(config.AdvertisedListeners).ToString());
    }

    [Fact]
    public void Advertised_listener_must_name_a_configured_listener()
    {
        var error = Assert.Throws<ConfigException>(() =>
            Config(("listeners", "PLAINTEXT://:9092"), ("advertised.listeners", "EXTERNAL://broker:9092"),
                ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT")));

        Assert.Contains("'advertised.listeners'", error.Message, StringComparison.Ordinal);
        Assert.Contains("EXTERNAL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Advertised_listener_on_a_wildcard_address_is_rejected()
    {
        var error = Assert.Throws<ConfigException>(() => Config(("advertised.listeners", "PLAINTEXT://0.0.0.0:9092")));

        Assert.Contains("wildcard", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PLAINTEXT:9092")]
    [InlineData("PLAINTEXT://host")]
    [InlineData("PLAINTEXT://host:port")]
    [InlineData("PLAINTEXT://host:70000")]
    public void Malformed_listener_fails_with_a_message_naming_the_key_and_entry(string listeners)
    {
        var error = Assert.Throws<ConfigException>(() => Config(("listeners", listeners)));

        Assert.StartsWith($"Invalid value '{listeners}' for configuration 'listeners'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listener_name_missing_from_the_security_protocol_map_is_rejected()
    {
        var error = Assert.Throws<ConfigException>(() => Config(("listeners", "CLIENTS://:9092")));

        Assert.Contains("listener.security.protocol.map", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SSL://:9093")]
    [InlineData("SASL_PLAINTEXT://:9093")]
    public void Listener_with_a_security_protocol_other_than_plaintext_is_rejected(string listener)
    {
        var error = Assert.Throws<ConfigException>(() => Config(("listeners", $"PLAINTEXT://:9092,{listener}")));

        Assert.Contains("'listeners'", error.Message, StringComparison.Ordinal);
        Assert.Contains("PLAINTEXT listeners only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_listener_names_are_rejected()
    {
        var error = Assert.Throws<ConfigException>(() => Config(("listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093")));

        Assert.Contains("'PLAINTEXT' repeats", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Controller_listeners_are_separated_from_broker_listeners_and_not_advertised()
    {
        var config = Config(("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"));

        Assert.Equal("PLAINTEXT", Assert.Single(config.BrokerListeners).Name);
        Assert.Equal(9093, Assert.Single(config.ControllerListeners).Port);
        Assert.Equal("PLAINTEXT", Assert.Single(config.AdvertisedListeners).Name);
        Assert.Equal("PLAINTEXT", config.InterBrokerListenerName);
    }

    [Fact]
    public void Quorum_voters_parse_ids_hosts_and_ports()
    {
        var config = Config(("controller.quorum.voters", "1@127.0.0.1:9093, 2@broker-2:9193,3@[::1]:9293"));

        Assert.Equal(
            [new QuorumVoter(1, "127.0.0.1", 9093), new QuorumVoter(2, "broker-2", 9193), new QuorumVoter(3, "::1", 9293)],
            config.ControllerQuorumVoters);
    }

    [Fact]
    public void Quorum_voters_default_to_empty()
    {
        Assert.Empty(BrokerConfig.Default.ControllerQuorumVoters);
    }

    [Theory]
    [InlineData("1@host")]
    [InlineData("one@host:9093")]
    [InlineData("1@host:9093,1@other:9093")]
    public void Malformed_quorum_voters_are_rejected(string voters)
    {
        var error = Assert.Throws<ConfigException>(() => Config(("controller.quorum.voters", voters)));

        Assert.Contains("'controller.quorum.voters'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Http_listeners_parse_http_urls()
    {
        var listener = Assert.Single(Config(("http.listeners", "http://127.0.0.1:9194")).HttpListeners);

        Assert.Equal(("127.0.0.1", 9194), (listener.Host, listener.Port));
    }

    [Fact]
    public void Http_listeners_reject_https()
    {
        var error = Assert.Throws<ConfigException>(() => Config(("http.listeners", "https://127.0.0.1:9194")));

        Assert.Contains("'http.listeners'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_http_listeners_disable_http()
    {
        Assert.Empty(Config(("http.listeners", "")).HttpListeners);
    }

    private static BrokerConfig Config(params (string Key, string Value)[] settings) =>
        BrokerConfig.FromProperties(settings.ToDictionary(s => s.Key, s => s.Value));
}
