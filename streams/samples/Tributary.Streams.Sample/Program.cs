using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Tributary.Streams.Sample;

if (args.Length > 0 && args[0] == CountApplication.Command)
{
    return await CountApplication.RunAsync(args);
}

// Runs the sample topology against `make run`'s cluster (or the bootstrap servers given as the first argument) until Ctrl-C.
var bootstrap = args.Length > 0 ? args[0] : "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";

using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
{
    string[] topics = [SampleTopology.CdcTopic, SampleTopology.OrdersTopic, SampleTopology.CustomersTopic, SampleTopology.PerMinuteTopic,
        SampleTopology.SessionsTopic, SampleTopology.EnrichedTopic];
    var existing = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToHashSet();
    var missing = topics.Where(t => !existing.Contains(t)).Select(t => new TopicSpecification { Name = t, NumPartitions = 3, ReplicationFactor = -1 }).ToList();
    if (missing.Count > 0)
    {
        await admin.CreateTopicsAsync(missing);
    }
}

var config = new StreamConfig<StringSerDes, StringSerDes>
{
    ApplicationId = "tributary-streams-sample",
    BootstrapServers = bootstrap,
    AutoOffsetReset = AutoOffsetReset.Earliest,
    CommitIntervalMs = 1000,
    DefaultCacheEnabled = false,
};

using var stream = new KafkaStream(SampleTopology.Build(), config);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
stream.StateChanged += (_, now) => Console.WriteLine($"streams sample: {now}");
await stream.StartAsync(stop.Token);
Console.WriteLine($"streams sample: running against {bootstrap}; Ctrl-C stops it");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine("streams sample: stopping");
}

return 0;
