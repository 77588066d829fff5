using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Tests.Transforms;

internal static class TransformTestKit
{
    public static T Configured<T>(params (string Key, string Value)[] config) where T : ITransform, new()
    {
        var t = new T();
        t.Configure(config.ToDictionary(c => c.Key, c => c.Value));
        return t;
    }

    public static SourceRecord Source(Schema? valueSchema, object? value, string topic = "test", long? timestamp = null, Schema? keySchema = null, object? key = null) =>
        new(null, null, topic, 0, keySchema, key, valueSchema, value, timestamp);

    public static SinkRecord Sink(Schema? valueSchema, object? value, string topic = "test", long offset = 42, long? timestamp = null) =>
        new(topic, 3, null, null, valueSchema, value, offset, timestamp);

    public static Dictionary<string, object?> Map(params (string Key, object? Value)[] entries) => entries.ToDictionary(e => e.Key, e => e.Value);
}
