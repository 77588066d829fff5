using System.Collections;
using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

/// <summary>The keys that bound request memory and admin operations (issue 16).</summary>
public sealed class RequestBoundsConfigTests
{
    private static BrokerConfig Load(params string[] overrides) =>
        BrokerConfigLoader.Load(overrides.SelectMany(o => new[] { "--override", o }).ToArray(), new Hashtable(), out _);

    [Fact]
    public void Request_bounds_default_to_200_MiB_of_frames_55_MiB_fetches_20000_partitions_per_broker_and_1000_partition_mutations_per_second()
    {
        var config = Load();

        Assert.Equal(200L * 1024 * 1024, config.GetLong("queued.max.request.bytes"));
        Assert.Equal(20_000, config.GetInt("max.broker.partitions"));
        Assert.Equal(1000.0, config.GetDouble("tributary.controller.mutation.rate"));
        Assert.Equal(55 * 1024 * 1024, config.GetInt("fetch.max.bytes"));
    }

    [Fact]
    public void Queued_request_bytes_below_the_largest_frame_fail_start_up_naming_both_keys()
    {
        var error = Assert.Throws<ConfigException>(() => Load("socket.request.max.bytes=1048576", "queued.max.request.bytes=1000"));

        Assert.Contains("queued.max.request.bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("socket.request.max.bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Queued_request_bytes_of_minus_one_mean_unbounded_as_in_kafka()
    {
        var config = Load("queued.max.request.bytes=-1");

        Assert.Equal(-1, config.GetLong("queued.max.request.bytes"));
    }
}
