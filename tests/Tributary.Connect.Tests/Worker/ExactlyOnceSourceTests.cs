using System.Diagnostics;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Connect.Tests.Harness;
using Tributary.Integration.Tests.Cluster;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Worker;

/// <summary>A real three-broker cluster shared by the exactly-once source tests; each test has its own workers, group and topics.</summary>
public sealed class ExactlyOnceClusterFixture : IAsyncLifetime
{
    private ClusterProcess? cluster;

    public string BootstrapServers => cluster?.BootstrapServers ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => cluster = await ClusterProcess.StartAsync(null);

    public async Task DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }
}

/// <summary>KIP-618 on real worker processes and a real cluster: transactional source tasks, zombie fencing, preflight validation.</summary>
public sealed class ExactlyOnceSourceTests(ExactlyOnceClusterFixture fixture, ITestOutputHelper output) : IClassFixture<ExactlyOnceClusterFixture>
{
    [Fact]
    public async Task Exactly_once_file_source_delivers_every_line_once_and_in_order_to_read_committed_across_a_worker_kill_9()
    {
        const string topic = "eos-kill-lines";
        await CreateTopicAsync(topic);
        var input = Path.Combine(Directory.CreateTempSubdirectory("connect-eos-kill-").FullName, "input.txt");
        await File.WriteAllTextAsync(input, "");
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ExactlyOnceWorker("eos-kill"));
        await worker.CreateConnectorAsync("eos-kill-source", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = topic, ["batch.size"] = "50",
            ["exactly.once.support"] = "required",
        });

        // Lines keep arriving while the worker dies, so the kill lands mid-stream, with transactions in flight.
        var expected = Enumerable.Range(1, 4000).Select(i => $"eos line {i}").ToList();
        var appender = AppendAsync(input, expected, chunk: 100, pause: TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= 1000, "1000 lines committed before the kill", TimeSpan.FromSeconds(60));
        worker.Kill();
        await worker.RestartAsync();
        await appender;

        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= expected.Count, "every line committed after the restart", TimeSpan.FromSeconds(90));
        var inputLength = new FileInfo(input).Length;
        await Eventually.TrueAsync(async () => await SourcePosition(worker, "eos-kill-source") == inputLength, "source offset at the end of the file", TimeSpan.FromSeconds(30));
        Assert.Equal(expected, ReadCommitted(topic));
    }

    [Fact]
    public async Task A_zombie_task_of_a_frozen_worker_is_fenced_and_cannot_commit_so_read_committed_sees_no_duplicate()
    {
        const string topic = "eos-zombie-lines";
        await CreateTopicAsync(topic);
        var input = Path.Combine(Directory.CreateTempSubdirectory("connect-eos-zombie-").FullName, "input.txt");
        await File.WriteAllTextAsync(input, "");
        var props = ExactlyOnceWorker("eos-zombie");
        await using var first = await ConnectWorkerProcess.StartAsync(output, props, name: "w1");
        await using var second = await ConnectWorkerProcess.StartAsync(output, props, name: "w2");
        await first.CreateConnectorAsync("eos-zombie-source", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = topic, ["batch.size"] = "50",
            // Long transactions: the frozen worker almost surely holds an open one, which it then tries to commit or abort.
            ["transaction.boundary"] = "interval", ["transaction.boundary.interval.ms"] = "1500",
        });
        await first.WaitForStateAsync("eos-zombie-source", "RUNNING", 1);

        using var stopAppending = new CancellationTokenSource();
        var written = new List<string>();
        var appender = Task.Run(async () =>
        {
            for (var i = 1; !stopAppending.IsCancellationRequested; i += 50)
            {
                var chunk = Enumerable.Range(i, 50).Select(n => $"zombie line {n}").ToList();
                await File.AppendAllLinesAsync(input, chunk);
                lock (written)
                {
                    written.AddRange(chunk);
                }

                await Task.Delay(100);
            }
        });

        var owner = await TaskOwner(first, "eos-zombie-source");
        var (zombie, survivor) = owner == first.WorkerId ? (first, second) : (second, first);
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= 500, "500 lines committed by the first owner", TimeSpan.FromSeconds(60));

        zombie.Suspend();
        await Eventually.TrueAsync(async () => await TaskOwner(survivor, "eos-zombie-source") == survivor.WorkerId,
            "the task moves to the surviving worker", TimeSpan.FromSeconds(60));
        var committedAtTakeover = ReadCommitted(topic).Count;
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= committedAtTakeover + 300, "the new owner commits", TimeSpan.FromSeconds(60));

        // The zombie wakes up believing it still owns the task, with its old transaction open.
        zombie.Resume();
        await Eventually.TrueAsync(() => zombie.RecentLog().Contains("was fenced", StringComparison.Ordinal),
            "the zombie's transaction fails as fenced", TimeSpan.FromSeconds(60));

        await stopAppending.CancelAsync();
        await appender;
        List<string> expected;
        lock (written)
        {
            expected = [.. written];
        }

        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= expected.Count, "every line committed", TimeSpan.FromSeconds(60));
        Assert.Equal(expected, ReadCommitted(topic));
    }

    [Fact]
    public async Task Interval_boundary_keeps_records_invisible_to_read_committed_until_the_interval_commits_them()
    {
        const string topic = "eos-interval-lines";
        await CreateTopicAsync(topic);
        var input = Path.Combine(Directory.CreateTempSubdirectory("connect-eos-interval-").FullName, "input.txt");
        await File.WriteAllTextAsync(input, "");
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ExactlyOnceWorker("eos-interval"));
        await worker.CreateConnectorAsync("eos-interval-source", new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = topic,
            ["transaction.boundary"] = "interval", ["transaction.boundary.interval.ms"] = "5000",
        });
        await worker.WaitForStateAsync("eos-interval-source", "RUNNING", 1);

        var lines = Enumerable.Range(1, 5).Select(i => $"interval line {i}").ToList();
        await File.AppendAllLinesAsync(input, lines);
        // The records are in the log (read_uncommitted sees them) long before the 5 s interval ends ...
        await Eventually.TrueAsync(() => Read(topic, IsolationLevel.ReadUncommitted).Count == lines.Count, "records produced", TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        // ... but their transaction is still open: read_committed stops at the last stable offset, before them.
        Assert.Empty(ReadCommitted(topic));
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count == lines.Count, "committed at the interval", TimeSpan.FromSeconds(60));
        output.WriteLine($"visible to read_committed {clock.ElapsedMilliseconds} ms after read_uncommitted saw them");
        Assert.Equal(lines, ReadCommitted(topic));
    }

    [Fact]
    public async Task Validate_reports_exactly_once_support_when_required_of_a_connector_that_cannot_provide_it()
    {
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ExactlyOnceWorker("eos-validate"));
        // FileStreamSource without a file reads standard input, which cannot be re-read from a stored offset.
        var answer = await worker.PutAsync("/connector-plugins/FileStreamSource/config/validate", new JsonObject
        {
            ["connector.class"] = "FileStreamSource", ["name"] = "stdin-source", ["topic"] = "t", ["exactly.once.support"] = "required",
        });

        Assert.Equal(200, answer.Code);
        Assert.Equal(1, answer.Body!["error_count"]!.GetValue<int>());
        var field = answer.Body["configs"]!.AsArray().Single(c => c!["value"]!["name"]!.GetValue<string>() == "exactly.once.support")!["value"]!;
        Assert.Contains("does not support exactly-once semantics", field["errors"]!.AsArray().Single()!.GetValue<string>(), StringComparison.Ordinal);

        var withFile = await worker.PutAsync("/connector-plugins/FileStreamSource/config/validate", new JsonObject
        {
            ["connector.class"] = "FileStreamSource", ["name"] = "file-source", ["topic"] = "t", ["file"] = "/tmp/x", ["exactly.once.support"] = "required",
        });
        Assert.Equal(0, withFile.Body!["error_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Creating_a_connector_that_requires_exactly_once_on_a_worker_without_support_is_refused_with_connects_error_json()
    {
        var props = ConnectWorkerProcess.DistributedDefaults(fixture.BootstrapServers, "eos-disabled");
        await using var worker = await ConnectWorkerProcess.StartAsync(output, props);
        var answer = await worker.PostAsync("/connectors", new JsonObject
        {
            ["name"] = "needs-eos",
            ["config"] = new JsonObject { ["connector.class"] = "FileStreamSource", ["file"] = "/tmp/x", ["topic"] = "t", ["exactly.once.support"] = "required" },
        });

        Assert.Equal(400, answer.Code);
        Assert.Equal(400, answer.Body!["error_code"]!.GetValue<int>());
        Assert.Contains("exactly.once.support: This worker does not have exactly-once source support enabled.", answer.Body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await worker.GetAsync("/connectors/needs-eos")).Code);
    }

    [Fact]
    public async Task Reconfiguring_a_source_connector_fences_the_previous_generation_and_records_its_task_count_before_new_tasks_start()
    {
        const string topic = "eos-generation-lines";
        await CreateTopicAsync(topic);
        var input = Path.Combine(Directory.CreateTempSubdirectory("connect-eos-generation-").FullName, "input.txt");
        var firstLines = Enumerable.Range(1, 200).Select(i => $"generation line {i}").ToList();
        await File.WriteAllLinesAsync(input, firstLines);
        await using var worker = await ConnectWorkerProcess.StartAsync(output, ExactlyOnceWorker("eos-gen"));
        var config = new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = input, ["topic"] = topic, ["batch.size"] = "50",
        };
        await worker.CreateConnectorAsync("eos-gen-source", config);
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= firstLines.Count, "the first generation commits", TimeSpan.FromSeconds(60));

        // New task configs: a new generation, which may start only once the leader has fenced the old one.
        var changed = new JsonObject();
        foreach (var (k, v) in config)
        {
            changed[k] = v;
        }

        changed["batch.size"] = "20";
        Assert.Equal(200, (await worker.PutAsync("/connectors/eos-gen-source/config", changed)).Code);
        var secondLines = Enumerable.Range(201, 200).Select(i => $"generation line {i}").ToList();
        await File.AppendAllLinesAsync(input, secondLines);

        await Eventually.TrueAsync(() => worker.RecentLog().Contains("Fenced the producers of 1 task(s) of connector eos-gen-source's previous generation and recorded its new task count 1", StringComparison.Ordinal),
            "the leader fenced generation 1", TimeSpan.FromSeconds(60));
        var records = ReadConfigTopic("eos-gen-configs");
        var lastCommit = records.FindLastIndex(r => r.Key == "commit-eos-gen-source");
        var lastTaskCount = records.FindLastIndex(r => r.Key == "task-count-eos-gen-source");
        Assert.True(lastTaskCount > lastCommit, "the task-count record follows the last task-config commit");
        Assert.Equal(1, JsonNode.Parse(records[lastTaskCount].Value)!["task-count"]!.GetValue<int>());

        var expected = firstLines.Concat(secondLines).ToList();
        await Eventually.TrueAsync(() => ReadCommitted(topic).Count >= expected.Count, "the new generation commits the rest", TimeSpan.FromSeconds(60));
        Assert.Equal(expected, ReadCommitted(topic));
    }

    private Dictionary<string, string> ExactlyOnceWorker(string group)
    {
        var props = ConnectWorkerProcess.DistributedDefaults(fixture.BootstrapServers, group);
        props["exactly.once.source.support"] = "enabled";
        return props;
    }

    private async Task CreateTopicAsync(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = fixture.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
    }

    private static async Task AppendAsync(string file, IReadOnlyList<string> lines, int chunk, TimeSpan pause, CancellationToken cancellation)
    {
        for (var i = 0; i < lines.Count; i += chunk)
        {
            await File.AppendAllLinesAsync(file, lines.Skip(i).Take(chunk), cancellation);
            await Task.Delay(pause, cancellation);
        }
    }

    private List<string> ReadCommitted(string topic) => Read(topic, IsolationLevel.ReadCommitted);

    /// <summary>Every value of partition 0 from the beginning to its end (for read_committed: the last stable offset).</summary>
    private List<string> Read(string topic, IsolationLevel isolation)
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = fixture.BootstrapServers, GroupId = "eos-reader-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
            IsolationLevel = isolation, EnablePartitionEof = true, AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var values = new List<string>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null)
            {
                continue;
            }

            if (r.IsPartitionEOF)
            {
                return values;
            }

            values.Add(r.Message.Value);
        }

        throw new TimeoutException($"Reading {topic} ({isolation}) to its end took over 30 s; {values.Count} values so far");
    }

    private static async Task<long> SourcePosition(ConnectWorkerProcess worker, string connector)
    {
        var answer = await worker.GetAsync($"/connectors/{connector}/offsets");
        return answer.Body?["offsets"] is JsonArray { Count: 1 } list ? list[0]!["offset"]!["position"]!.GetValue<long>() : -1;
    }

    private static async Task<string?> TaskOwner(ConnectWorkerProcess worker, string connector)
    {
        var s = await worker.GetAsync($"/connectors/{connector}/status");
        return s.Code == 200 && s.Body!["tasks"] is JsonArray { Count: 1 } tasks && tasks[0]!["state"]!.GetValue<string>() == "RUNNING"
            ? tasks[0]!["worker_id"]!.GetValue<string>()
            : null;
    }

    private List<(string Key, string Value)> ReadConfigTopic(string topic)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = fixture.BootstrapServers, GroupId = "eos-config-reader-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var records = new List<(string, string)>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null)
            {
                continue;
            }

            if (r.IsPartitionEOF)
            {
                return records;
            }

            records.Add((r.Message.Key, r.Message.Value ?? ""));
        }

        throw new TimeoutException($"Reading {topic} took over 30 s");
    }
}
