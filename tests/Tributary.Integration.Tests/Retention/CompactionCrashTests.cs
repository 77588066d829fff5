using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Retention;

/// <summary>kill -9 of a broker whose cleaner is busy compacting: after restart the topic reads back as the acknowledged model.</summary>
public sealed class CompactionCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Killing_the_broker_while_it_compacts_loses_no_acknowledged_update()
    {
        await using BrokerProcess broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string>
        {
            ["log.cleaner.backoff.ms"] = "10",
        });
        var clients = new KafkaClients(broker, broker.Log);
        string topic = KafkaClients.UniqueTopic("compaction-crash");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["segment.bytes"] = "8192",
            ["min.cleanable.dirty.ratio"] = "0.01",
        });
        var model = new Dictionary<string, string>();
        var producerConfig = clients.ProducerConfig();
        producerConfig.BatchNumMessages = 20;

        for (int round = 0; round < 4; round++)
        {
            var messages = new List<Message<byte[]?, byte[]?>>();
            for (int i = 0; i < 3000; i++)
            {
                string key = $"key-{(i * 31) % 200}";
                string value = $"round-{round}-update-{i}";
                messages.Add(new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(value) });
                model[key] = value;
            }

            using (var producer = clients.CreateProducer(producerConfig))
            {
                var reports = KafkaClients.ProduceAll(producer, topic, messages, Timeout);
                Assert.All(reports, report => Assert.Equal(PersistenceStatus.Persisted, report.Status));
            }

            // The cleaner polls every 10 ms and the log is almost all dirty: it is compacting now, or about to.
            await Task.Delay(20 * round);
            broker.Kill();
            await broker.RestartAsync();

            var latest = new Dictionary<string, string>();
            foreach (var record in clients.ReadToEnd(topic, 1, Timeout)[0])
            {
                latest[Encoding.UTF8.GetString(record.Message.Key!)] = Encoding.UTF8.GetString(record.Message.Value!);
            }

            Assert.Equal(model, latest);
        }
    }
}
