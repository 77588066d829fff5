using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;
using Tributary.Tests.Shared.Metadata;

namespace Tributary.Metadata.Tests;

public sealed class MetadataLoaderTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly InMemoryMetadataLogTestDouble _log = new(nodeId: 1);
    private readonly MetadataLoader _loader;

    public MetadataLoaderTests()
    {
        _loader = new MetadataLoader(_log, NullLogger.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _loader.DisposeAsync();
        await _log.DisposeAsync();
    }

    [Fact]
    public async Task Applies_batches_committed_before_and_after_start()
    {
        _log.CommitExternally(new TopicRecord("a", new Uuid(1, 1)));
        _loader.Start();
        var last = _log.CommitExternally(new TopicRecord("b", new Uuid(2, 2)));

        await _loader.WaitForOffsetAsync(last, Bounded());

        Assert.Equal(["a", "b"], _loader.Current.Topics.Keys);
        Assert.Equal(last, _loader.Current.Offset);
    }

    [Fact]
    public async Task Publishes_images_in_log_order()
    {
        var offsets = new ConcurrentQueue<long>();
        _loader.AddPublisher(new PublisherTestDouble(image => offsets.Enqueue(image.Offset)));
        _loader.Start();

        long last = -1;
        for (var i = 0; i < 50; i++)
        {
            last = _log.CommitExternally(new ProducerIdsRecord(1, 0, i));
        }

        await _loader.WaitForOffsetAsync(last, Bounded());

        var published = offsets.Where(o => o >= 0).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), published);
        Assert.Equal(49, _loader.Current.NextProducerId);
    }

    [Fact]
    public async Task Wait_for_offset_completes_only_once_the_offset_is_applied()
    {
        _loader.Start();
        var waiting = _loader.WaitForOffsetAsync(1, Bounded());

        _log.CommitExternally(new ClusterIdRecord("c"));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        _log.CommitExternally(new ProducerIdsRecord(1, 0, 7));
        await waiting;
        Assert.Equal(1, _loader.Current.Offset);
    }

    [Fact]
    public async Task Wait_for_offset_returns_at_once_for_an_applied_offset()
    {
        var offset = _log.CommitExternally(new ClusterIdRecord("c"));
        _loader.Start();
        await _loader.WaitForOffsetAsync(offset, Bounded());

        var again = _loader.WaitForOffsetAsync(offset, CancellationToken.None);

        Assert.True(again.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Wait_for_offset_honours_its_token()
    {
        _loader.Start();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _loader.WaitForOffsetAsync(5, cancel.Token));
    }

    [Fact]
    public async Task A_failing_publisher_neither_stops_the_loop_nor_the_other_publishers()
    {
        var seen = new ConcurrentQueue<long>();
        _loader.AddPublisher(new PublisherTestDouble(_ => throw new InvalidOperationException("subscriber bug")));
        _loader.AddPublisher(new PublisherTestDouble(image => seen.Enqueue(image.Offset)));
        _loader.Start();

        _log.CommitExternally(new ClusterIdRecord("c"));
        var last = _log.CommitExternally(new ProducerIdsRecord(1, 0, 9));
        await _loader.WaitForOffsetAsync(last, Bounded());

        Assert.Equal(9, _loader.Current.NextProducerId);
        Assert.Contains(last, seen);
    }

    [Fact]
    public async Task Controller_id_follows_the_quorum_leader()
    {
        _loader.Start();

        var ready = _log.BecomeLeader(epoch: 1);
        await _loader.WaitForOffsetAsync(ready, Bounded());
        await WaitUntil(() => _loader.ControllerId == 1);

        _log.LoseLeadership(newLeaderId: 3);
        await WaitUntil(() => _loader.ControllerId == 3);
        Assert.Equal(3, _loader.Current.ControllerId);
    }

    [Fact]
    public async Task Controller_change_is_published_as_a_new_image()
    {
        var controllers = new ConcurrentQueue<int>();
        _loader.AddPublisher(new PublisherTestDouble(image => controllers.Enqueue(image.ControllerId)));
        _loader.Start();

        _log.LoseLeadership(newLeaderId: 2);
        await WaitUntil(() => controllers.Contains(2));

        _log.LoseLeadership(newLeaderId: -1);
        await WaitUntil(() => controllers.Contains(-1));
        Assert.Equal(-1, _loader.ControllerId);
    }

    [Fact]
    public async Task Starts_after_the_offset_of_its_initial_image()
    {
        _log.CommitExternally(new TopicRecord("old", new Uuid(1, 1)));
        _log.CommitExternally(new ClusterIdRecord("c"));
        var initial = new MetadataLoader(_log, NullLogger.Instance, new MetadataApplier(NullLogger.Instance)
            .Apply(MetadataImage.Empty, new MetadataBatch(0, 0, [new TopicRecord("kept", new Uuid(3, 3))])));
        await using (initial)
        {
            initial.Start();
            await initial.WaitForOffsetAsync(1, Bounded());

            Assert.Equal(["kept"], initial.Current.Topics.Keys);
            Assert.Equal("c", initial.Current.ClusterId);
        }
    }

    [Fact]
    public async Task Waiters_are_released_when_the_loader_is_disposed()
    {
        _loader.Start();
        var waiting = _loader.WaitForOffsetAsync(100, CancellationToken.None);

        await _loader.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
    }

    private static CancellationToken Bounded() => new CancellationTokenSource(Bound).Token;

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}

/// <summary>A publisher that hands every image to a callback (and optionally the delta).</summary>
internal sealed class PublisherTestDouble(Action<MetadataImage> onImage, Action<MetadataDelta>? onDelta = null) : IMetadataPublisher
{
    public string Name => "test";

    public void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage)
    {
        onDelta?.Invoke(delta);
        onImage(newImage);
    }
}
