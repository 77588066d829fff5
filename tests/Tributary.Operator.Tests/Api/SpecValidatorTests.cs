using Tributary.Operator.Api;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.Tests.Api;

public class SpecValidatorTests
{
    [Fact]
    public void Default_specs_are_valid()
    {
        Assert.Empty(SpecValidator.Validate(new BrokerSpec()));
        Assert.Empty(SpecValidator.Validate(new TopicSpec()));
        Assert.Empty(SpecValidator.Validate(new ConnectorConfigSpec { Class = "org.example.Sink" }));
    }

    [Fact]
    public void A_topic_with_zero_partitions_is_invalid()
    {
        var error = Assert.Single(SpecValidator.Validate(new TopicSpec { Partitions = 0 }));
        Assert.Equal("spec.partitions: must be at least 1 (is 0)", error);
    }

    [Fact]
    public void A_broker_with_zero_replicas_is_invalid()
    {
        Assert.Equal("spec.replicas: must be at least 1 (is 0)", Assert.Single(SpecValidator.Validate(new BrokerSpec { Replicas = 0 })));
    }

    [Fact]
    public void Patterns_lengths_and_nested_required_fields_are_checked()
    {
        var errors = SpecValidator.Validate(new BrokerSpec { ImagePullPolicy = "Sometimes", Rack = new RackSpec() });
        Assert.Contains(errors, e => e.StartsWith("spec.imagePullPolicy:", StringComparison.Ordinal));
        Assert.Contains("spec.rack.topologyKey: is required", errors);
        Assert.Contains("spec.class: is required", SpecValidator.Validate(new ConnectorConfigSpec()));
        Assert.NotEmpty(SpecValidator.Validate(new TopicSpec { TopicName = "bad name" }));
    }
}
