namespace Tributary.Metadata;

/// <summary>Receives every new metadata image, with what changed, strictly in commit order (Kafka's MetadataPublisher).</summary>
/// <remarks>Called on the loader's publishing task, one publisher after another in the order they were added. A
/// publisher that throws is logged and skipped for that image; a slow one holds back the publishers after it and this
/// loader's waiters — never the active controller, which replays the log with a loader of its own.</remarks>
public interface IMetadataPublisher
{
    /// <summary>A short name for logs.</summary>
    string Name { get; }

    void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage);
}
