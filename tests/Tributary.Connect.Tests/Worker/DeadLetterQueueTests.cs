using System.Text;
using Confluent.Kafka;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>errors.tolerance and the dead letter queue on a sink connector, with real records that fail conversion.</summary>
public sealed class DeadLetterQueueTests(ITestOutputHelper output)
{
    private static async Task ProduceAsync(string bootstrap, string topic, params string[] values)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All }).Build();
        foreach (var v in values)
        {
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes("k"), Value = Encoding.UTF8.GetBytes(v) });
        }
    }

    private static Dictionary<string, string> JsonSink(string topic, string file, params (string, string)[] extra)
    {
        var config = new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSink", ["topics"] = topic, ["file"] = file,
            ["value.converter"] = "org.apache.kafka.connect.json.JsonConverter", ["value.converter.schemas.enable"] = "false",
            ["transforms"] = "pick", ["transforms.pick.type"] = "org.apache.kafka.connect.transforms.ExtractField$Value", ["transforms.pick.field"] = "msg",
        };
        foreach (var (k, v) in extra)
        {
            config[k] = v;
        }

        return config;
    }

    [Fact]
    public async Task Poison_record_goes_to_the_dlq_with_kafkas_error_context_headers_and_the_rest_flows_on()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var file = Path.Combine(Directory.CreateTempSubdirectory("connect-dlq-").FullName, "out.txt");
        await ProduceAsync(broker.BootstrapServers, "orders", "{\"msg\":\"first\"}", "this is not json", "{\"msg\":\"second\"}");
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "dlq"));
        await worker.CreateConnectorAsync("dlq-sink", JsonSink("orders", file,
            ("errors.tolerance", "all"), ("errors.log.enable", "true"), ("errors.deadletterqueue.topic.name", "orders-dlq"),
            ("errors.deadletterqueue.topic.replication.factor", "1"), ("errors.deadletterqueue.context.headers.enable", "true")));

        await Eventually.TrueAsync(() => File.Exists(file) && File.ReadAllLines(file).Length >= 2, "the two good records reach the file", TimeSpan.FromSeconds(60));
        Assert.Equal(["first", "second"], await File.ReadAllLinesAsync(file));

        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("orders-dlq");
        var poison = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(poison);
        Assert.Equal("this is not json", Encoding.UTF8.GetString(poison.Message.Value!));
        Assert.Equal("k", Encoding.UTF8.GetString(poison.Message.Key!));
        string Header(string name) => Encoding.UTF8.GetString(poison.Message.Headers.GetLastBytes("__connect.errors." + name));
        Assert.Equal("orders", Header("topic"));
        Assert.Equal("0", Header("partition"));
        Assert.Equal("1", Header("offset"));
        Assert.Equal("dlq-sink", Header("connector.name"));
        Assert.Equal("0", Header("task.id"));
        Assert.Equal("VALUE_CONVERTER", Header("stage"));
        Assert.Equal("Tributary.Connect.Converters.JsonConverter", Header("class.name"));
        Assert.Equal("Tributary.Connect.Api.Data.DataException", Header("exception.class.name"));
        Assert.Contains("serialization error", Header("exception.message"), StringComparison.Ordinal);
        Assert.Contains("at ", Header("exception.stacktrace"), StringComparison.Ordinal);
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(2))); // only the poison record
        consumer.Close();
        await worker.WaitForStateAsync("dlq-sink", "RUNNING", 1);
    }

    [Fact]
    public async Task Poison_record_with_errors_tolerance_none_fails_the_task_with_its_trace()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var file = Path.Combine(Directory.CreateTempSubdirectory("connect-dlq-").FullName, "out.txt");
        await ProduceAsync(broker.BootstrapServers, "payments", "{\"msg\":\"ok\"}", "{broken");
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "strict"));
        await worker.CreateConnectorAsync("strict-sink", JsonSink("payments", file));

        await Eventually.TrueAsync(async () => (await worker.GetAsync("/connectors/strict-sink/tasks/0/status")).Body?["state"]?.GetValue<string>() == "FAILED",
            "task FAILED", TimeSpan.FromSeconds(60));
        var trace = (await worker.GetAsync("/connectors/strict-sink/tasks/0/status")).Body!["trace"]!.GetValue<string>();
        Assert.Contains("Tolerance exceeded in error handler", trace, StringComparison.Ordinal);
        Assert.Contains("DataException", trace, StringComparison.Ordinal);
        Assert.Equal("RUNNING", (await worker.GetAsync("/connectors/strict-sink/status")).Body!["connector"]!["state"]!.GetValue<string>());
    }
}
