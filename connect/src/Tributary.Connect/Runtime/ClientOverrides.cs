using Confluent.Kafka;

namespace Tributary.Connect.Runtime;

/// <summary>Kafka's client overrides: worker <c>producer.*</c>/<c>consumer.*</c>, then connector <c>producer.override.*</c>/<c>consumer.override.*</c>.</summary>
internal static class ClientOverrides
{
    public static T WithOverrides<T>(this T config, params IReadOnlyDictionary<string, string>[] layers) where T : ClientConfig
    {
        foreach (var layer in layers)
        {
            foreach (var (k, v) in layer)
            {
                // The runtime owns these: overriding them would break offsets and delivery guarantees.
                if (k is "bootstrap.servers" or "group.id" or "enable.auto.commit" or "key.deserializer" or "value.deserializer")
                {
                    continue;
                }

                config.Set(k, v);
            }
        }

        return config;
    }
}
