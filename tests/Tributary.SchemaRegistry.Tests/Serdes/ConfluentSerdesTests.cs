using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Avro;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Tributary.SchemaRegistry.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Serdes;

/// <summary>Confluent's .NET schema registry client and serdes, unchanged, against our registry, producing to and
/// consuming from a real Tributary broker: records carry the magic byte and the schema id our registry issued.</summary>
public sealed class ConfluentSerdesTests(RegistryFixture fixture, ITestOutputHelper output) : IClassFixture<RegistryFixture>
{
    private const string UserSchemaV1 = """{"type":"record","name":"User","namespace":"tributary.test","fields":[{"name":"name","type":"string"},{"name":"favorite_number","type":"int"}]}""";
    private const string UserSchemaV2 = """{"type":"record","name":"User","namespace":"tributary.test","fields":[{"name":"name","type":"string"},{"name":"favorite_number","type":"int"},{"name":"color","type":"string","default":"blue"}]}""";

    /// <summary>A JSON Schema record type for the JSON serdes (NJsonSchema generates the schema from it).</summary>
    public sealed class Order
    {
        public string Id { get; set; } = "";
        public int Quantity { get; set; }
    }

    private CachedSchemaRegistryClient RegistryClient() => new(new SchemaRegistryConfig { Url = fixture.Registry.Url });

    private IProducer<string, byte[]> RawProducer() => new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = fixture.Broker.BootstrapServers,
        Acks = Acks.All,
    }).Build();

    private IConsumer<string, T> Consumer<T>(IDeserializer<T> valueDeserializer) => new ConsumerBuilder<string, T>(new ConsumerConfig
    {
        BootstrapServers = fixture.Broker.BootstrapServers,
        GroupId = "serdes-" + Guid.NewGuid().ToString("N"),
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    }).SetValueDeserializer(valueDeserializer).Build();

    private static List<ConsumeResult<string, T>> ConsumeAll<T>(IConsumer<string, T> consumer, string topic, int count)
    {
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<string, T>>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (results.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { Message: not null } result)
            {
                results.Add(result);
            }
        }

        consumer.Close();
        return results;
    }

    private static int SchemaIdOf(byte[] value)
    {
        Assert.True(value.Length > 5, "a framed value has the magic byte, a 4-byte schema id and a payload");
        Assert.Equal(0, value[0]);
        return BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(1, 4));
    }

    [Fact]
    public async Task Avro_serializer_registers_through_our_registry_and_records_round_trip_with_its_schema_id()
    {
        string topic = "avro-" + Guid.NewGuid().ToString("N")[..8];
        using var registry = RegistryClient();
        var v1 = (RecordSchema)Avro.Schema.Parse(UserSchemaV1);
        var v2 = (RecordSchema)Avro.Schema.Parse(UserSchemaV2);

        var serializer = new AvroSerializer<GenericRecord>(registry, new AvroSerializerConfig { AutoRegisterSchemas = true });
        var serializationContext = new SerializationContext(MessageComponentType.Value, topic);
        var first = new GenericRecord(v1);
        first.Add("name", "ada");
        first.Add("favorite_number", 7);
        var second = new GenericRecord(v2);
        second.Add("name", "grace");
        second.Add("favorite_number", 42);
        second.Add("color", "green");
        byte[] firstBytes = await serializer.SerializeAsync(first, serializationContext);
        byte[] secondBytes = await serializer.SerializeAsync(second, serializationContext);

        using (var producer = RawProducer())
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "1", Value = firstBytes });
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "2", Value = secondBytes });
        }

        // The ids in the records are the ones our registry gave the subject's two versions (evolution accepted as BACKWARD).
        using var http = new RegistryHttp(fixture.Registry.Url);
        var versions = await http.GetAsync($"/subjects/{topic}-value/versions");
        Assert.Equal("[1,2]", versions.Body);
        int id1 = (await http.GetAsync($"/subjects/{topic}-value/versions/1")).Json!["id"]!.GetValue<int>();
        int id2 = (await http.GetAsync($"/subjects/{topic}-value/versions/2")).Json!["id"]!.GetValue<int>();
        Assert.Equal(id1, SchemaIdOf(firstBytes));
        Assert.Equal(id2, SchemaIdOf(secondBytes));
        Assert.NotEqual(id1, id2);

        // A consumer with a fresh registry client resolves both ids through GET /schemas/ids/{id}.
        using var consumerRegistry = RegistryClient();
        using var consumer = Consumer(new AvroDeserializer<GenericRecord>(consumerRegistry).AsSyncOverAsync());
        var consumed = ConsumeAll(consumer, topic, 2);
        Assert.Equal(2, consumed.Count);
        Assert.Equal("ada", consumed[0].Message.Value["name"]);
        Assert.Equal(7, consumed[0].Message.Value["favorite_number"]);
        Assert.Equal("grace", consumed[1].Message.Value["name"]);
        Assert.Equal("green", consumed[1].Message.Value["color"]);
        output.WriteLine($"avro ids {id1}, {id2}");
    }

    [Fact]
    public async Task Avro_serializer_is_refused_an_incompatible_schema_with_confluents_409()
    {
        string topic = "avro-incompat-" + Guid.NewGuid().ToString("N")[..8];
        using var registry = RegistryClient();
        string subject = topic + "-value";
        int id = await registry.RegisterSchemaAsync(subject, new Confluent.SchemaRegistry.Schema(UserSchemaV1, SchemaType.Avro));
        Assert.True(id > 0);

        // Changing a field's type from int to string breaks BACKWARD.
        string incompatible = UserSchemaV1.Replace("\"int\"", "\"string\"", StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            registry.RegisterSchemaAsync(subject, new Confluent.SchemaRegistry.Schema(incompatible, SchemaType.Avro)));
        Assert.Equal(409, error.ErrorCode);
        Assert.False(await registry.IsCompatibleAsync(subject, new Confluent.SchemaRegistry.Schema(incompatible, SchemaType.Avro)));

        var latest = await registry.GetLatestSchemaAsync(subject);
        Assert.Equal(1, latest.Version);
        Assert.Equal(id, latest.Id);
    }

    [Fact]
    public async Task Json_serializer_registers_through_our_registry_and_records_round_trip_with_its_schema_id()
    {
        string topic = "json-" + Guid.NewGuid().ToString("N")[..8];
        using var registry = RegistryClient();
        var serializer = new JsonSerializer<Order>(registry, new JsonSerializerConfig { AutoRegisterSchemas = true });
        byte[] bytes = await serializer.SerializeAsync(new Order { Id = "o-1", Quantity = 3 }, new SerializationContext(MessageComponentType.Value, topic));
        using (var producer = RawProducer())
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "o-1", Value = bytes });
        }

        using var http = new RegistryHttp(fixture.Registry.Url);
        var latest = (await http.GetAsync($"/subjects/{topic}-value/versions/latest")).Json!.AsObject();
        Assert.Equal("JSON", latest["schemaType"]!.GetValue<string>());
        Assert.Equal(latest["id"]!.GetValue<int>(), SchemaIdOf(bytes));

        using var consumerRegistry = RegistryClient();
        using var consumer = Consumer(new JsonDeserializer<Order>(consumerRegistry).AsSyncOverAsync());
        var consumed = ConsumeAll(consumer, topic, 1);
        var order = Assert.Single(consumed).Message.Value;
        Assert.Equal("o-1", order.Id);
        Assert.Equal(3, order.Quantity);
    }
}
