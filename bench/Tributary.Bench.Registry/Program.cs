using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Avro;
using Avro.Generic;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

// make bench-registry (and the last section of make bench): one broker process + one tributary-schema-registry process on
// loopback, then (1) GET /schemas/ids/{id} per second, (2) schema registrations per second (each a new version: parse,
// BACKWARD check against the previous one, acks=all append, replay), (3) Confluent's Avro serializer + deserializer round
// trip per record with a cached client (steady state: no registry call) vs a fresh client per record (every record asks
// the registry: register/lookup + get by id). Writes a Markdown table to BENCH_RESULTS (default bench/results/registry.md).
var root = FindRoot();
string config = Environment.GetEnvironmentVariable("CONFIG") ?? "Release";
string brokerDll = Path.Combine(root, "broker/src/Tributary.Host/bin", config, "net10.0/tributary-broker.dll");
string registryDll = Path.Combine(root, "schema-registry/src/Tributary.SchemaRegistry.Host/bin", config, "net10.0/tributary-schema-registry.dll");
string results = Environment.GetEnvironmentVariable("BENCH_RESULTS") ?? Path.Combine(root, "bench/results/registry.md");
var seconds = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_REGISTRY_SECONDS") ?? "5", CultureInfo.InvariantCulture));
int registrations = int.Parse(Environment.GetEnvironmentVariable("BENCH_REGISTRY_REGISTRATIONS") ?? "300", CultureInfo.InvariantCulture);
int roundTrips = int.Parse(Environment.GetEnvironmentVariable("BENCH_REGISTRY_ROUNDTRIPS") ?? "20000", CultureInfo.InvariantCulture);
int uncachedRoundTrips = int.Parse(Environment.GetEnvironmentVariable("BENCH_REGISTRY_UNCACHED_ROUNDTRIPS") ?? "300", CultureInfo.InvariantCulture);

string scratch = Path.Combine(Path.GetTempPath(), "tributary-bench-registry-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(scratch);
int kafkaPort = FreePort(), httpPort = FreePort(), registryPort = FreePort();
using var broker = Launch("broker", [brokerDll,
    "--override", "node.id=1", "--override", $"listeners=PLAINTEXT://127.0.0.1:{kafkaPort}",
    "--override", $"advertised.listeners=PLAINTEXT://127.0.0.1:{kafkaPort}", "--override", $"http.listeners=http://127.0.0.1:{httpPort}",
    "--override", $"log.dirs={scratch}/data", "--override", "offsets.topic.replication.factor=1"], scratch);
Process? registry = null;
try
{
    await WaitOkAsync($"http://127.0.0.1:{httpPort}/readyz", broker);
    registry = Launch("registry", [registryDll, "--override", $"listeners=http://127.0.0.1:{registryPort}",
        "--override", $"kafkastore.bootstrap.servers=127.0.0.1:{kafkaPort}"], scratch);
    string url = $"http://127.0.0.1:{registryPort}";
    await WaitOkAsync(url + "/", registry);

    using var http = new HttpClient { BaseAddress = new Uri(url) };
    var rows = new List<(string Name, string Value, string Note)>();

    // (2) registrations first: they also provide ids to look up.
    var clock = Stopwatch.StartNew();
    var ids = new List<int>();
    for (int i = 0; i < registrations; i++)
    {
        var fields = new JsonArray { new JsonObject { ["name"] = "id", ["type"] = "string" } };
        for (int f = 0; f < i / 10; f++)
        {
            fields.Add(new JsonObject { ["name"] = $"f{f}", ["type"] = "int", ["default"] = 0 });
        }

        string schema = new JsonObject { ["type"] = "record", ["name"] = $"Bench{i % 10}", ["fields"] = fields }.ToJsonString();
        using var response = await http.PostAsync($"/subjects/bench-{i % 10}/versions?normalize=false",
            new StringContent(new JsonObject { ["schema"] = schema }.ToJsonString(), Encoding.UTF8, "application/vnd.schemaregistry.v1+json"));
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"registration {i} failed: {(int)response.StatusCode} {body}");
        }

        ids.Add(JsonNode.Parse(body)!["id"]!.GetValue<int>());
    }

    double registerRate = registrations / clock.Elapsed.TotalSeconds;
    rows.Add(("register throughput", $"{registerRate:F0} schemas/s", $"{registrations} POST /subjects/{{s}}/versions, sequential, each a new version checked BACKWARD, acks=all, replayed before the answer"));

    // (1) lookups by id: 4 concurrent loops for a fixed time.
    long lookups = 0;
    clock.Restart();
    var until = DateTime.UtcNow + seconds;
    await Task.WhenAll(Enumerable.Range(0, 4).Select(async worker =>
    {
        int n = worker;
        while (DateTime.UtcNow < until)
        {
            using var response = await http.GetAsync($"/schemas/ids/{ids[n++ % ids.Count]}");
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
            Interlocked.Increment(ref lookups);
        }
    }));
    rows.Add(("lookups by id", $"{lookups / clock.Elapsed.TotalSeconds:F0} req/s", $"GET /schemas/ids/{{id}}, 4 concurrent HTTP/1.1 clients, {seconds.TotalSeconds:F0} s"));

    // (3) serdes round trips.
    var avro = (RecordSchema)Avro.Schema.Parse("""{"type":"record","name":"Trip","fields":[{"name":"id","type":"string"},{"name":"n","type":"int"}]}""");
    var record = new GenericRecord(avro);
    record.Add("id", "abc");
    record.Add("n", 42);
    var context = new SerializationContext(MessageComponentType.Value, "bench-serdes");
    using (var cached = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = url }))
    {
        var serializer = new AvroSerializer<GenericRecord>(cached);
        var deserializer = new AvroDeserializer<GenericRecord>(cached);
        await RoundTrip(serializer, deserializer, record, context); // warm-up: registers once
        clock.Restart();
        for (int i = 0; i < roundTrips; i++)
        {
            await RoundTrip(serializer, deserializer, record, context);
        }

        double perRecordUs = clock.Elapsed.TotalMicroseconds / roundTrips;
        rows.Add(("serdes round trip, cached client", $"{perRecordUs:F1} µs/record", $"Confluent AvroSerializer + AvroDeserializer (GenericRecord), {roundTrips} records, no registry call after the first"));
    }

    clock.Restart();
    for (int i = 0; i < uncachedRoundTrips; i++)
    {
        using var fresh = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = url });
        await RoundTrip(new AvroSerializer<GenericRecord>(fresh), new AvroDeserializer<GenericRecord>(fresh), record, context);
    }

    double uncachedUs = clock.Elapsed.TotalMicroseconds / uncachedRoundTrips;
    rows.Add(("serdes round trip, fresh client per record", $"{uncachedUs:F0} µs/record", $"{uncachedRoundTrips} records; each registers (an existing schema: POST /subjects/{{s}}/versions) and fetches by id"));

    var report = new StringBuilder();
    report.AppendLine("## Schema registry (one broker, one tributary-schema-registry process, loopback)");
    report.AppendLine();
    report.AppendLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores");
    report.AppendLine();
    report.AppendLine("| measure | result | how |");
    report.AppendLine("|---|---|---|");
    foreach (var (name, value, note) in rows)
    {
        report.AppendLine($"| {name} | {value} | {note} |");
    }

    Directory.CreateDirectory(Path.GetDirectoryName(results)!);
    await File.WriteAllTextAsync(results, report.ToString());
    Console.WriteLine(report);
    return 0;
}
finally
{
    Stop(registry);
    Stop(broker);
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

static async Task RoundTrip(AvroSerializer<GenericRecord> serializer, AvroDeserializer<GenericRecord> deserializer, GenericRecord record,
    SerializationContext context)
{
    byte[] bytes = await serializer.SerializeAsync(record, context);
    var back = await deserializer.DeserializeAsync(bytes, isNull: false, context);
    if (!Equals(back["n"], 42))
    {
        throw new InvalidOperationException("round trip changed the record");
    }
}

static Process Launch(string name, IReadOnlyList<string> arguments, string directory)
{
    var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
    {
        UseShellExecute = false,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        WorkingDirectory = directory,
    };
    foreach (var a in arguments)
    {
        start.ArgumentList.Add(a);
    }

    start.Environment.Remove("LD_LIBRARY_PATH");
    var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {name}");
    var log = File.AppendText(Path.Combine(directory, name + ".log"));
    log.AutoFlush = true;
    process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
    process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static void Stop(Process? process)
{
    if (process is { HasExited: false })
    {
        process.Kill();
        process.WaitForExit(30_000);
    }
}

static async Task WaitOkAsync(string url, Process process)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < TimeSpan.FromSeconds(90))
    {
        if (process.HasExited)
        {
            throw new InvalidOperationException($"process exited with {process.ExitCode} before {url} answered");
        }

        try
        {
            using var response = await http.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException)
        {
        }

        await Task.Delay(100);
    }

    throw new TimeoutException($"{url} not ready within 90 s");
}

static int FreePort()
{
    using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)listener.LocalEndPoint!).Port;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("no Cluster.sln above the bench");
}
