using System.Text.Json;
using Tributary.Storage;

namespace Tributary.Broker.Metadata;

/// <summary>The producer-id counter of the metadata store: the first id no block has been handed out for.</summary>
public sealed partial class MetadataStore
{
    private const string ProducerIdsFileName = "producer-ids.json";
    private const long MaxProducerIdsFileBytes = 4096;

    /// <summary>First producer id not yet reserved; 0 on a new cluster.</summary>
    public long LoadNextProducerId()
    {
        var path = Path.Combine(_directory, ProducerIdsFileName);
        if (!File.Exists(path))
        {
            return 0;
        }

        var length = new FileInfo(path).Length;
        if (length > MaxProducerIdsFileBytes)
        {
            throw new InvalidDataException($"producer id file {path} is {length} bytes, more than the {MaxProducerIdsFileBytes} allowed");
        }

        var document = JsonSerializer.Deserialize<ProducerIdsDocument>(File.ReadAllBytes(path), JsonOptions)
                       ?? throw new InvalidDataException($"producer id file {path} is empty");
        if (document.Version != CurrentVersion || document.NextProducerId < 0)
        {
            throw new InvalidDataException($"producer id file {path} has version {document.Version} and next id {document.NextProducerId}");
        }

        return document.NextProducerId;
    }

    /// <summary>Persists the counter (temp file, fsync, rename, directory fsync); returns only once it is durable.</summary>
    public void SaveNextProducerId(long nextProducerId)
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, ProducerIdsFileName);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new ProducerIdsDocument { Version = CurrentVersion, NextProducerId = nextProducerId }, JsonOptions);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        DirectorySync.TrySync(_directory);
    }

    private sealed class ProducerIdsDocument
    {
        public int Version { get; set; }
        public long NextProducerId { get; set; }
    }
}
