using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Avro;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Converters.Registry;
using Tributary.Connect.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;
using ConnectSchema = Tributary.Connect.Api.Data.Schema;

namespace Tributary.Connect.Tests.Converters.Registry;

/// <summary>
/// Our Avro and JSON Schema converters against our real registry process and Confluent's own .NET serdes (from NuGet), both ways; schema
/// evolution through the registry's compatibility check; and a connector run end to end through a real worker.
/// </summary>
public sealed class RegistryInteropTests(RegistryConnectFixture fixture, ITestOutputHelper output) : IClassFixture<RegistryConnectFixture>
{
    private const string UserSchema = """
        {"type":"record","name":"User","namespace":"tributary.interop","fields":[
          {"name":"name","type":"string"},
          {"name":"age","type":"int"},
          {"name":"email","type":["null","string"],"default":null},
          {"name":"score","type":"double"},
          {"name":"tags","type":{"type":"array","items":"string"}},
          {"name":"attrs","type":{"type":"map","values":"long"}},
          {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["ADMIN","GUEST"]}},
          {"name":"joined","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}
        ]}
        """;

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private AvroConverter Converter(bool isKey = false, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string> { ["schema.registry.url"] = fixture.Registry.Url };
        foreach (var (k, v) in extra)
        {
            settings[k] = v;
        }

        var c = new AvroConverter();
        c.Configure(settings, isKey);
        return c;
    }

    private CachedSchemaRegistryClient ConfluentClient() => new(new SchemaRegistryConfig { Url = fixture.Registry.Url });

    [Fact]
    public async Task A_record_written_by_confluents_avro_serializer_is_read_by_our_converter()
    {
        var topic = Unique("from-confluent");
        using var client = ConfluentClient();
        var schema = (RecordSchema)Avro.Schema.Parse(UserSchema);
        var address = new GenericRecord((RecordSchema)schema["address"].Schema);
        address.Add("city", "Lisbon");
        var user = new GenericRecord(schema);
        user.Add("name", "ada");
        user.Add("age", 36);
        user.Add("email", null);
        user.Add("score", 99.5);
        user.Add("tags", new object[] { "x", "y" });
        user.Add("attrs", new Dictionary<string, object> { ["logins"] = 12L });
        user.Add("kind", new GenericEnum((EnumSchema)schema["kind"].Schema, "GUEST"));
        user.Add("joined", new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc));
        user.Add("address", address);
        var bytes = await new AvroSerializer<GenericRecord>(client).SerializeAsync(user, new SerializationContext(MessageComponentType.Value, topic));

        var read = Converter().ToConnectData(topic, bytes);

        var s = Assert.IsType<Struct>(read.Value);
        Assert.Equal("tributary.interop.User", read.Schema!.Name);
        Assert.Equal("ada", s.Get("name"));
        Assert.Equal(36, s.Get("age"));
        Assert.Null(s.Get("email"));
        Assert.True(read.Schema.Field("email")!.Schema.IsOptional);
        Assert.Equal(99.5, s.Get("score"));
        Assert.Equal(new List<object?> { "x", "y" }, s.Get("tags"));
        Assert.Equal(12L, ((IDictionary<object, object?>)s.Get("attrs")!)["logins"]);
        Assert.Equal("GUEST", s.Get("kind"));
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc), s.Get("joined"));
        Assert.Equal("Lisbon", ((Struct)s.Get("address")!).Get("city"));
    }

    [Fact]
    public async Task A_record_written_by_our_converter_is_read_by_confluents_avro_deserializer()
    {
        var topic = Unique("to-confluent");
        var price = SchemaBuilder.Bytes().Name(Logical.Decimal.LogicalName).Version(1).Parameter("scale", "2").Build();
        var schema = SchemaBuilder.Struct().Name("tributary.interop.Order")
            .Field("id", ConnectSchema.Int64)
            .Field("customer", ConnectSchema.OptionalString)
            .Field("lines", SchemaBuilder.Array(ConnectSchema.String).Build())
            .Field("qty", SchemaBuilder.Map(ConnectSchema.String, ConnectSchema.Int32).Build())
            .Field("price", price)
            .Field("day", Logical.Date.Schema)
            .Field("at", Logical.Timestamp.Schema)
            .Field("small", ConnectSchema.Int8)
            .Build();
        var value = new Struct(schema).Put("id", 7L).Put("customer", null).Put("lines", new List<object?> { "a", "b" })
            .Put("qty", new Dictionary<object, object?> { ["a"] = 2 }).Put("price", 19.99m)
            .Put("day", new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc)).Put("at", new DateTime(2026, 12, 7, 23, 0, 0, 5, DateTimeKind.Utc))
            .Put("small", (sbyte)-3);

        var bytes = Converter().FromConnectData(topic, schema, value)!;

        using var client = ConfluentClient();
        var record = await new AvroDeserializer<GenericRecord>(client).DeserializeAsync(bytes, false, new SerializationContext(MessageComponentType.Value, topic));
        Assert.Equal("tributary.interop.Order", record.Schema.Fullname);
        Assert.Equal(7L, record["id"]);
        Assert.Null(record["customer"]);
        Assert.Equal(new object[] { "a", "b" }, (object[])record["lines"]);
        Assert.Equal(2, ((IDictionary<string, object>)record["qty"])["a"]);
        Assert.Equal(19.99m, (decimal)(AvroDecimal)record["price"]);
        Assert.Equal(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc), (DateTime)record["day"]);
        Assert.Equal(new DateTime(2026, 12, 7, 23, 0, 0, 5, DateTimeKind.Utc), ((DateTime)record["at"]).ToUniversalTime());
        Assert.Equal(-3, record["small"]);

        // The id in the frame is the one the registry gave the subject's version 1.
        var latest = await client.GetLatestSchemaAsync(topic + "-value");
        Assert.Equal(latest.Id, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
    }

    [Fact]
    public async Task A_compatible_change_registers_a_new_version_and_an_incompatible_one_fails_with_the_registrys_409()
    {
        var topic = Unique("evolve");
        var v1 = SchemaBuilder.Struct().Name("tributary.interop.Evolving").Field("a", ConnectSchema.Int32).Build();
        var v2 = SchemaBuilder.Struct().Name("tributary.interop.Evolving").Field("a", ConnectSchema.Int32).Field("b", ConnectSchema.OptionalString).Build();
        var broken = SchemaBuilder.Struct().Name("tributary.interop.Evolving").Field("a", ConnectSchema.String).Field("b", ConnectSchema.OptionalString).Build();
        var converter = Converter();

        converter.FromConnectData(topic, v1, new Struct(v1).Put("a", 1));
        var second = converter.FromConnectData(topic, v2, new Struct(v2).Put("a", 2).Put("b", "x"))!;
        var e = Assert.Throws<DataException>(() => converter.FromConnectData(topic, broken, new Struct(broken).Put("a", "3")));

        using var http = new HttpClient();
        var versions = await http.GetFromJsonAsync<int[]>($"{fixture.Registry.Url}/subjects/{topic}-value/versions");
        Assert.Equal([1, 2], versions ?? []);
        var inner = Assert.IsType<Tributary.Connect.Converters.Registry.SchemaRegistryException>(e.InnerException);
        Assert.Equal(409, inner.ErrorCode);
        Assert.Contains("incompatible", e.Message, StringComparison.OrdinalIgnoreCase);
        output.WriteLine(e.Message);

        // The record written with v2 reads back with v2's fields (old and new readers alike go by the id in the frame).
        var back = (Struct)Converter().ToConnectData(topic, second).Value!;
        Assert.Equal("x", back.Get("b"));
    }

    /// <summary>A POCO for Confluent's JSON serdes (NJsonSchema generates its schema).</summary>
    public sealed class Order
    {
        public string? Id { get; set; }
        public int Quantity { get; set; }
    }

    [Fact]
    public async Task A_record_written_by_confluents_json_serializer_is_read_by_our_json_schema_converter()
    {
        var topic = Unique("json-from-confluent");
        using var client = ConfluentClient();
        var bytes = await new JsonSerializer<Order>(client).SerializeAsync(new Order { Id = "o-1", Quantity = 3 }, new SerializationContext(MessageComponentType.Value, topic));

        var c = new JsonSchemaConverter();
        c.Configure(new Dictionary<string, string> { ["schema.registry.url"] = fixture.Registry.Url }, false);
        var read = c.ToConnectData(topic, bytes);

        var s = Assert.IsType<Struct>(read.Value);
        Assert.Equal("o-1", s.Get("Id"));
        Assert.Equal(3, Convert.ToInt32(s.Get("Quantity"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_record_written_by_our_json_schema_converter_is_read_by_confluents_json_deserializer()
    {
        var topic = Unique("json-to-confluent");
        var schema = SchemaBuilder.Struct().Name("Order").Field("Id", ConnectSchema.OptionalString).Field("Quantity", ConnectSchema.Int32).Build();
        var c = new JsonSchemaConverter();
        c.Configure(new Dictionary<string, string> { ["schema.registry.url"] = fixture.Registry.Url }, false);

        var bytes = c.FromConnectData(topic, schema, new Struct(schema).Put("Id", "o-2").Put("Quantity", 5))!;

        using var client = ConfluentClient();
        var order = await new JsonDeserializer<Order>(client).DeserializeAsync(bytes, false, new SerializationContext(MessageComponentType.Value, topic));
        Assert.Equal("o-2", order.Id);
        Assert.Equal(5, order.Quantity);
        var registered = await client.GetLatestSchemaAsync(topic + "-value");
        Assert.Equal(Confluent.SchemaRegistry.SchemaType.Json, registered.SchemaType);
    }

    [Fact]
    public async Task File_source_with_a_struct_transform_writes_avro_that_confluents_consumer_reads()
    {
        var topic = Unique("avro-file");
        var dir = Directory.CreateTempSubdirectory("connect-avro-").FullName;
        var input = Path.Combine(dir, "input.txt");
        var lines = Enumerable.Range(1, 50).Select(i => $"line {i}").ToList();
        await File.WriteAllLinesAsync(input, lines);
        var connector = Unique("avro-source");
        await fixture.Worker.CreateConnectorAsync(connector, new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource",
            ["file"] = input,
            ["topic"] = topic,
            ["transforms"] = "hoist,origin",
            ["transforms.hoist.type"] = "org.apache.kafka.connect.transforms.HoistField$Value",
            ["transforms.hoist.field"] = "line",
            ["transforms.origin.type"] = "org.apache.kafka.connect.transforms.InsertField$Value",
            ["transforms.origin.static.field"] = "origin",
            ["transforms.origin.static.value"] = "file",
            ["value.converter"] = "io.confluent.connect.avro.AvroConverter",
            ["value.converter.schema.registry.url"] = fixture.Registry.Url,
        });

        using var client = ConfluentClient();
        using var consumer = new ConsumerBuilder<Ignore, GenericRecord>(new ConsumerConfig
        {
            BootstrapServers = fixture.Broker.BootstrapServers,
            GroupId = Unique("avro-reader"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).SetValueDeserializer(new Confluent.Kafka.SyncOverAsync.SyncOverAsyncDeserializer<GenericRecord>(new AvroDeserializer<GenericRecord>(client))).Build();
        consumer.Subscribe(topic);
        var records = new List<GenericRecord>();
        await Eventually.TrueAsync(() =>
        {
            try
            {
                while (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
                {
                    records.Add(r.Message.Value);
                }
            }
            catch (ConsumeException e) when (e.Error.Code == ErrorCode.UnknownTopicOrPart)
            {
                // The task creates the topic with its first record.
            }

            return Task.FromResult(records.Count >= lines.Count);
        }, "all 50 lines consumed as Avro records", TimeSpan.FromSeconds(90));
        consumer.Close();

        Assert.Equal(lines, records.Select(r => (string)r["line"]));
        Assert.All(records, r => Assert.Equal("file", r["origin"]));
        Assert.Equal("io.confluent.connect.avro.ConnectDefault", records[0].Schema.Fullname);
        var subjects = await client.GetAllSubjectsAsync();
        Assert.Contains(topic + "-value", subjects);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_sink_reads_confluent_avro_records_and_sends_one_with_an_unknown_schema_id_to_the_dlq()
    {
        var topic = Unique("avro-sink");
        using var client = ConfluentClient();
        var schema = (RecordSchema)Avro.Schema.Parse("""{"type":"record","name":"Named","namespace":"tributary.interop","fields":[{"name":"name","type":"string"}]}""");
        var serializer = new AvroSerializer<GenericRecord>(client);
        async Task<byte[]> Record(string name)
        {
            var r = new GenericRecord(schema);
            r.Add("name", name);
            return await serializer.SerializeAsync(r, new SerializationContext(MessageComponentType.Value, topic));
        }

        byte[] unknownId = [0, 0x7F, 0xFF, 0xFF, 0xF0, 0x02];
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = fixture.Broker.BootstrapServers, Acks = Acks.All }).Build())
        {
            foreach (var value in new[] { await Record("first"), unknownId, await Record("second") })
            {
                await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Value = value });
            }
        }

        var file = Path.Combine(Directory.CreateTempSubdirectory("connect-avro-sink-").FullName, "out.txt");
        var connector = Unique("avro-sink");
        await fixture.Worker.CreateConnectorAsync(connector, new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSink",
            ["topics"] = topic,
            ["file"] = file,
            ["value.converter"] = "io.confluent.connect.avro.AvroConverter",
            ["value.converter.schema.registry.url"] = fixture.Registry.Url,
            ["transforms"] = "pick",
            ["transforms.pick.type"] = "org.apache.kafka.connect.transforms.ExtractField$Value",
            ["transforms.pick.field"] = "name",
            ["errors.tolerance"] = "all",
            ["errors.deadletterqueue.topic.name"] = topic + "-dlq",
            ["errors.deadletterqueue.topic.replication.factor"] = "1",
            ["errors.deadletterqueue.context.headers.enable"] = "true",
        });

        await Eventually.TrueAsync(() => File.Exists(file) && File.ReadAllLines(file).Length >= 2, "the two good records reach the file", TimeSpan.FromSeconds(60));
        Assert.Equal(["first", "second"], await File.ReadAllLinesAsync(file));
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = fixture.Broker.BootstrapServers, GroupId = Unique("dlq-reader"), AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic + "-dlq");
        var poison = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(poison);
        Assert.Equal(unknownId, poison.Message.Value);
        var message = System.Text.Encoding.UTF8.GetString(poison.Message.Headers.GetLastBytes("__connect.errors.exception.message"));
        output.WriteLine(message);
        Assert.Contains("40403", message, StringComparison.Ordinal);
        Assert.Equal("VALUE_CONVERTER", System.Text.Encoding.UTF8.GetString(poison.Message.Headers.GetLastBytes("__connect.errors.stage")));
        consumer.Close();
    }

    [Fact]
    public async Task An_incompatible_schema_fails_the_source_task_with_the_registrys_409_message_in_status()
    {
        var topic = Unique("avro-incompatible");
        // The subject already holds a record whose 'line' is an int: a string 'line' breaks BACKWARD compatibility.
        using (var http = new HttpClient())
        {
            var existing = """{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"line","type":"int"}]}""";
            var answer = await http.PostAsJsonAsync($"{fixture.Registry.Url}/subjects/{topic}-value/versions", new JsonObject { ["schema"] = existing });
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }

        var dir = Directory.CreateTempSubdirectory("connect-avro-").FullName;
        var input = Path.Combine(dir, "input.txt");
        await File.WriteAllLinesAsync(input, ["not an int"]);
        var connector = Unique("avro-incompatible");
        await fixture.Worker.CreateConnectorAsync(connector, new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource",
            ["file"] = input,
            ["topic"] = topic,
            ["transforms"] = "hoist",
            ["transforms.hoist.type"] = "org.apache.kafka.connect.transforms.HoistField$Value",
            ["transforms.hoist.field"] = "line",
            ["value.converter"] = "io.confluent.connect.avro.AvroConverter",
            ["value.converter.schema.registry.url"] = fixture.Registry.Url,
        });

        var trace = await Eventually.ValueAsync<string?>(async () =>
        {
            var status = await fixture.Worker.GetAsync($"/connectors/{connector}/status");
            var task = status.Body?["tasks"]?.AsArray().FirstOrDefault();
            return task?["state"]?.GetValue<string>() == "FAILED" ? task["trace"]?.GetValue<string>() : null;
        }, t => t is not null, TimeSpan.FromSeconds(60));
        Assert.NotNull(trace);

        output.WriteLine(trace);
        Assert.Contains("409", trace, StringComparison.Ordinal);
        Assert.Contains("incompatible", trace, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(topic + "-value", trace, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }
}
