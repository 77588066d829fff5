using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Broker.Producers;
using Tributary.Protocol;

namespace Tributary.Broker.Tests.Producers;

public sealed class ProducerIdAllocationTests : IDisposable
{
    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-producer-ids-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A controller over the metadata of <see cref="_logDir"/>, as a broker start-up builds it.</summary>
    private ClusterController StartController()
    {
        var store = new MetadataStore(_logDir, NullLogger.Instance);
        var (clusterId, topics) = store.Load(null);
        var image = new MetadataImage(clusterId, 1, ImmutableDictionary<int, BrokerRegistration>.Empty, topics, 1);
        return new ClusterController(store, image, (_, _) => null, NullLogger.Instance);
    }

    [Fact]
    public void Consecutive_blocks_do_not_overlap()
    {
        ClusterController controller = StartController();

        ProducerIdBlock first = controller.AllocateProducerIdBlock(1)!.Value;
        ProducerIdBlock second = controller.AllocateProducerIdBlock(1)!.Value;

        Assert.Equal(0, first.FirstProducerId);
        Assert.Equal(ProducerIdBlock.DefaultSize, first.Size);
        Assert.Equal(first.NextBlockFirstId, second.FirstProducerId);
    }

    [Fact]
    public void After_a_restart_blocks_continue_after_the_last_block_handed_out()
    {
        ClusterController before = StartController();
        before.AllocateProducerIdBlock(1);
        ProducerIdBlock last = before.AllocateProducerIdBlock(1)!.Value;

        ClusterController after = StartController();
        ProducerIdBlock next = after.AllocateProducerIdBlock(1)!.Value;

        Assert.Equal(last.NextBlockFirstId, next.FirstProducerId);
    }

    [Fact]
    public void Ids_handed_out_before_a_restart_are_never_handed_out_again()
    {
        var before = new ProducerIdManager(() => StartController().AllocateProducerIdBlock(1, size: 10), NullLogger.Instance);
        var issued = new HashSet<long>();
        for (int i = 0; i < 25; i++)
        {
            Assert.Equal(ErrorCode.None, before.TryGenerate(out long id));
            Assert.True(issued.Add(id));
        }

        var after = new ProducerIdManager(() => StartController().AllocateProducerIdBlock(1, size: 10), NullLogger.Instance);
        for (int i = 0; i < 25; i++)
        {
            Assert.Equal(ErrorCode.None, after.TryGenerate(out long id));
            Assert.True(issued.Add(id), $"producer id {id} was handed out twice");
        }
    }

    [Fact]
    public void The_manager_hands_out_consecutive_ids_and_fetches_a_new_block_when_one_is_used_up()
    {
        long nextBlock = 100;
        int blocksFetched = 0;
        var manager = new ProducerIdManager(() =>
        {
            blocksFetched++;
            var block = new ProducerIdBlock(1, nextBlock, 3);
            nextBlock += 1000;
            return block;
        }, NullLogger.Instance);

        var ids = new List<long>();
        for (int i = 0; i < 4; i++)
        {
            manager.TryGenerate(out long id);
            ids.Add(id);
        }

        Assert.Equal([100, 101, 102, 1100], ids);
        Assert.Equal(2, blocksFetched);
    }

    [Fact]
    public void A_block_that_cannot_be_persisted_gives_a_retriable_error()
    {
        var manager = new ProducerIdManager(() => throw new IOException("disk full"), NullLogger.Instance);

        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, manager.TryGenerate(out long id));
        Assert.Equal(-1, id);
    }
}
