using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker.Metadata;

/// <summary>
/// Durable home of the metadata a single-node cluster owns: cluster id, topics, partition placement and topic
/// configs. Written as one JSON document, atomically (temp file, fsync, rename, fsync of the directory), after
/// every change and before the change is acknowledged. The Raft metadata quorum replaces this store in
/// multi-node clusters; the image it produces is the same.
/// </summary>
public sealed partial class MetadataStore
{
    private const int CurrentVersion = 1;
    private const long MaxFileBytes = 256L * 1024 * 1024;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private readonly string _directory;
    private readonly string _path;
    private readonly ILogger _logger;

    public MetadataStore(string logDir, ILogger logger)
    {
        _directory = Path.Combine(logDir, "__tributary_metadata");
        _path = Path.Combine(_directory, "metadata.json");
        _logger = logger;
    }

    /// <summary>Loads the stored metadata, or creates a fresh cluster id when there is none.</summary>
    public (string ClusterId, ImmutableSortedDictionary<string, TopicImage> Topics) Load(string? configuredClusterId)
    {
        Directory.CreateDirectory(_directory);
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal);
        if (!File.Exists(_path))
        {
            var clusterId = configuredClusterId ?? Uuid.NewRandom().ToString();
            Save(clusterId, topics);
            LogCreated(_logger, clusterId, _path);
            return (clusterId, topics);
        }

        var length = new FileInfo(_path).Length;
        if (length > MaxFileBytes)
        {
            throw new InvalidDataException($"metadata file {_path} is {length} bytes, more than the {MaxFileBytes} allowed");
        }

        var document = JsonSerializer.Deserialize<MetadataDocument>(File.ReadAllBytes(_path), JsonOptions)
                       ?? throw new InvalidDataException($"metadata file {_path} is empty");
        if (document.Version != CurrentVersion)
        {
            throw new InvalidDataException($"metadata file {_path} has version {document.Version}; this broker reads version {CurrentVersion}");
        }

        if (configuredClusterId is not null && configuredClusterId != document.ClusterId)
        {
            throw new InvalidDataException(
                $"cluster.id {configuredClusterId} does not match the id {document.ClusterId} stored in {_path}");
        }

        var builder = topics.ToBuilder();
        foreach (var t in document.Topics)
        {
            var partitions = t.Partitions
                .Select(p => new PartitionImage(p.Partition, [.. p.Replicas], p.Leader, p.LeaderEpoch, [.. p.Isr]))
                .OrderBy(p => p.Partition)
                .ToImmutableArray();
            builder[t.Name] = new TopicImage(t.Name, new Uuid(t.IdHigh, t.IdLow), partitions,
                t.Configs.ToImmutableDictionary(StringComparer.Ordinal));
        }

        LogLoaded(_logger, builder.Count, _path);
        return (document.ClusterId, builder.ToImmutable());
    }

    /// <summary>Persists the topic table; returns only once it is on disk.</summary>
    public void Save(string clusterId, ImmutableSortedDictionary<string, TopicImage> topics)
    {
        var document = new MetadataDocument
        {
            Version = CurrentVersion,
            ClusterId = clusterId,
            Topics = topics.Values.Select(t => new TopicDocument
            {
                Name = t.Name,
                IdHigh = t.Id.MostSignificantBits,
                IdLow = t.Id.LeastSignificantBits,
                Configs = new SortedDictionary<string, string>(t.Configs, StringComparer.Ordinal),
                Partitions = t.Partitions.Select(p => new PartitionDocument
                {
                    Partition = p.Partition,
                    Replicas = [.. p.Replicas],
                    Leader = p.Leader,
                    LeaderEpoch = p.LeaderEpoch,
                    Isr = [.. p.Isr],
                }).ToList(),
            }).ToList(),
        };

        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, document, JsonOptions);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
        // A rename is durable only once its directory entry is.
        DirectorySync.TrySync(_directory);
    }

    [LoggerMessage(EventId = 100, EventName = "MetadataCreated", Level = LogLevel.Information, Message = "Created cluster {ClusterId}; metadata stored in {Path}")]
    private static partial void LogCreated(ILogger logger, string clusterId, string path);

    [LoggerMessage(EventId = 101, EventName = "MetadataLoaded", Level = LogLevel.Information, Message = "Loaded {TopicCount} topics from {Path}")]
    private static partial void LogLoaded(ILogger logger, int topicCount, string path);

    private sealed class MetadataDocument
    {
        public int Version { get; set; }
        public string ClusterId { get; set; } = "";
        public List<TopicDocument> Topics { get; set; } = [];
    }

    private sealed class TopicDocument
    {
        public string Name { get; set; } = "";
        public ulong IdHigh { get; set; }
        public ulong IdLow { get; set; }
        public SortedDictionary<string, string> Configs { get; set; } = new(StringComparer.Ordinal);
        public List<PartitionDocument> Partitions { get; set; } = [];
    }

    private sealed class PartitionDocument
    {
        public int Partition { get; set; }
        public int[] Replicas { get; set; } = [];
        public int Leader { get; set; }
        public int LeaderEpoch { get; set; }
        public int[] Isr { get; set; } = [];
    }
}
