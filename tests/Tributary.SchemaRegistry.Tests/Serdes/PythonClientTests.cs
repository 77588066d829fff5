using Tributary.Integration.Tests.Harness;
using Tributary.SchemaRegistry.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Serdes;

/// <summary>confluent-kafka-python from Debian (its SchemaRegistryClient, JSON Schema and Protobuf serdes) against our
/// registry and a real broker. (Its Avro serdes need fastavro, which Debian 12 lacks.)</summary>
public sealed class PythonClientTests(RegistryFixture fixture, ITestOutputHelper output) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task Python_json_serializer_round_trips_through_our_registry_and_gets_409_for_an_incompatible_schema()
    {
        string topic = "py-json-" + Guid.NewGuid().ToString("N")[..8];
        string script = Path.Combine(RepositoryPaths.Root, "tests", "Tributary.SchemaRegistry.Tests", "scripts", "sr_json_roundtrip.py");
        var result = await ExternalProcess.RunAsync("/usr/bin/python3", [script, fixture.Broker.BootstrapServers, fixture.Registry.Url, topic],
            new TestOutputSink(output), TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"the script failed: {result.StandardError}");
        using var summary = System.Text.Json.JsonDocument.Parse(result.StandardOutput.TrimEnd().Split('\n')[^1]);
        Assert.Equal(5, summary.RootElement.GetProperty("records").GetInt32());
        Assert.Equal(409, summary.RootElement.GetProperty("incompatible_status").GetInt32());
    }

    [Fact]
    public async Task Python_protobuf_serializer_registers_a_base64_descriptor_and_records_round_trip()
    {
        string topic = "py-proto-" + Guid.NewGuid().ToString("N")[..8];
        string script = Path.Combine(RepositoryPaths.Root, "tests", "Tributary.SchemaRegistry.Tests", "scripts", "sr_protobuf_roundtrip.py");
        var result = await ExternalProcess.RunAsync("/usr/bin/python3", [script, fixture.Broker.BootstrapServers, fixture.Registry.Url, topic],
            new TestOutputSink(output), TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"the script failed: {result.StandardError}");
        using var summary = System.Text.Json.JsonDocument.Parse(result.StandardOutput.TrimEnd().Split('\n')[^1]);
        Assert.Equal(5, summary.RootElement.GetProperty("records").GetInt32());
    }
}
