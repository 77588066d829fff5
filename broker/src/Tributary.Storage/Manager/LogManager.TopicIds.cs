using System.Collections.Concurrent;
using Tributary.Protocol;

namespace Tributary.Storage;

/// <summary>
/// Topic ids on disk (Kafka's KIP-516): each partition directory records the id of the topic its log belongs to in
/// <see cref="PartitionMetadataFile"/>. A log found under the partition's name but carrying another topic's id (the topic
/// was deleted and recreated while this broker was down) is deleted and replaced by an empty log, never served.
/// </summary>
public sealed partial class LogManager
{
    private readonly ConcurrentDictionary<TopicPartition, Uuid> _topicIds = new();

    /// <summary>
    /// The log of <paramref name="partition"/> of the topic whose id is <paramref name="topicId"/>, created if it does not
    /// exist. An existing log of the same name is returned when it records the same id; one that records no id (written
    /// before ids were recorded) adopts this one; one that records another id is deleted (renamed <c>…-delete</c> and
    /// removed in the background) and a fresh, empty log takes its place.
    /// </summary>
    /// <exception cref="InvalidDataException">The existing log's partition.metadata file is malformed; nothing is deleted.</exception>
    public PartitionLog GetOrCreateLog(string topic, int partition, LogConfig config, Uuid topicId)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (topicId == Uuid.Zero)
        {
            throw new ArgumentException("A topic id is required; the zero id names no topic.", nameof(topicId));
        }

        var topicPartition = new TopicPartition(topic, partition);
        lock (_lifecycleLock)
        {
            ThrowIfClosed();
            if (TryGetLog(topic, partition, out PartitionLog? existing))
            {
                Uuid? recorded = RecordedTopicId(topicPartition, existing);
                if (recorded == topicId)
                {
                    return existing;
                }

                if (recorded is null)
                {
                    PartitionMetadataFile.Write(existing.Directory, topicId);
                    _topicIds[topicPartition] = topicId;
                    _logger.TopicIdAdopted(topicPartition, topicId.ToString());
                    return existing;
                }

                _logger.LogOfOtherTopicDeleted(topicPartition, recorded.Value.ToString(), topicId.ToString());
                DeleteLog(topic, partition);
            }

            PartitionLog log = GetOrCreateLog(topic, partition, config);
            PartitionMetadataFile.Write(log.Directory, topicId);
            _topicIds[topicPartition] = topicId;
            return log;
        }
    }

    /// <summary>The topic id the partition's log records on disk; false if there is no such log or it records none.</summary>
    /// <exception cref="InvalidDataException">The log's partition.metadata file is malformed.</exception>
    public bool TryGetTopicId(string topic, int partition, out Uuid topicId)
    {
        var topicPartition = new TopicPartition(topic, partition);
        if (TryGetLog(topic, partition, out PartitionLog? log) && RecordedTopicId(topicPartition, log) is { } recorded)
        {
            topicId = recorded;
            return true;
        }

        topicId = Uuid.Zero;
        return false;
    }

    private Uuid? RecordedTopicId(TopicPartition topicPartition, PartitionLog log)
    {
        if (_topicIds.TryGetValue(topicPartition, out Uuid cached))
        {
            return cached;
        }

        Uuid? recorded = PartitionMetadataFile.Read(log.Directory);
        if (recorded is { } id)
        {
            _topicIds[topicPartition] = id;
        }

        return recorded;
    }

    private void ForgetTopicId(TopicPartition topicPartition) => _topicIds.TryRemove(topicPartition, out _);
}
