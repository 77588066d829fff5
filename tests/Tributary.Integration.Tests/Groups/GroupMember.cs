using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Groups;

/// <summary>What a rebalance callback told a member.</summary>
/// <param name="Kind">"assigned", "revoked" or "lost".</param>
/// <param name="Partitions">The partitions in the callback (incremental ones under cooperative-sticky).</param>
/// <param name="At">Time since the member started.</param>
public sealed record RebalanceEvent(string Kind, IReadOnlyList<int> Partitions, TimeSpan At);

/// <summary>A record as one member consumed it.</summary>
public sealed record ConsumedRecord(string Member, int Partition, long Offset, string Value);

/// <summary>
/// One Confluent.Kafka consumer subscribed to a topic in a group, driven by a thread of its own (a librdkafka consumer
/// must be polled, committed and closed from one thread). It records what it consumes, optionally commits each
/// record after "processing" it, and keeps its current assignment from the rebalance callbacks.
/// </summary>
public sealed partial class GroupMember : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> consumer;
    private readonly string topic;
    private readonly bool commitEachRecord;
    private readonly TestOutputSink log;
    private readonly Lock gate = new();
    private readonly HashSet<int> owned = [];
    private readonly List<RebalanceEvent> events = [];
    private readonly List<int> joinGenerations = [];
    private readonly ConcurrentQueue<ConsumedRecord> consumed;
    private readonly ConcurrentQueue<string> failures = new();
    private readonly Stopwatch clock = new();
    private readonly Thread thread;
    private volatile bool closeRequested;
    private readonly TaskCompletionSource closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates and starts the member: it subscribes on its own thread right away.</summary>
    /// <param name="consumed">Where consumed records go; members of one group share a queue to check "exactly once overall".</param>
    /// <param name="traceJoins">Turns on librdkafka's cgrp debug log to learn the generation of each JoinGroup response.</param>
    public GroupMember(
        string name, ConsumerConfig config, string topic, TestOutputSink log, ConcurrentQueue<ConsumedRecord>? consumed = null,
        bool commitEachRecord = false, bool traceJoins = false)
    {
        Name = name;
        this.topic = topic;
        this.log = log;
        this.commitEachRecord = commitEachRecord;
        this.consumed = consumed ?? new ConcurrentQueue<ConsumedRecord>();
        var effective = new ConsumerConfig(config.ToDictionary(kv => kv.Key, kv => kv.Value));
        if (traceJoins)
        {
            effective.Debug = "cgrp";
        }

        consumer = new ConsumerBuilder<byte[]?, byte[]?>(effective)
            .SetLogHandler((_, m) => OnLog(m))
            .SetErrorHandler((_, e) => log.WriteLine($"[{Name} error] {e.Code}: {e.Reason}"))
            .SetPartitionsAssignedHandler((_, partitions) => OnRebalance("assigned", partitions.Select(p => p.Partition.Value)))
            .SetPartitionsRevokedHandler((_, partitions) => OnRebalance("revoked", partitions.Select(p => p.Partition.Value)))
            .SetPartitionsLostHandler((_, partitions) => OnRebalance("lost", partitions.Select(p => p.Partition.Value)))
            .Build();
        clock.Start();
        thread = new Thread(Run) { IsBackground = true, Name = "group-member-" + name };
        thread.Start();
    }

    public string Name { get; }

    /// <summary>Time since the member was created.</summary>
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>The partitions the member owns now, per its callbacks.</summary>
    public IReadOnlySet<int> Assignment
    {
        get
        {
            lock (gate)
            {
                return owned.ToHashSet();
            }
        }
    }

    /// <summary>Every rebalance callback so far, in order.</summary>
    public IReadOnlyList<RebalanceEvent> Events
    {
        get
        {
            lock (gate)
            {
                return events.ToList();
            }
        }
    }

    /// <summary>Generation ids of the successful JoinGroup responses (only with traceJoins).</summary>
    public IReadOnlyList<int> JoinGenerations
    {
        get
        {
            lock (gate)
            {
                return joinGenerations.ToList();
            }
        }
    }

    /// <summary>Records this member's queue holds (shared with other members if one was passed in).</summary>
    public IReadOnlyCollection<ConsumedRecord> Consumed => consumed;

    /// <summary>Errors from Consume or Commit, for failure messages.</summary>
    public IReadOnlyCollection<string> Failures => failures;

    /// <summary>The consumer's member id as librdkafka reports it.</summary>
    public string MemberId => consumer.MemberId;

    /// <summary>Asks the member's thread to Close() the consumer (LeaveGroup, unless static) and waits for it.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        closeRequested = true;
        await closed.Task.WaitAsync(timeout);
    }

    public void Dispose()
    {
        closeRequested = true;
        if (!thread.Join(TimeSpan.FromSeconds(30)))
        {
            log.WriteLine($"[{Name}] consumer thread did not stop within 30 s");
            return; // disposing a consumer another thread still polls would crash librdkafka
        }

        consumer.Dispose();
    }

    private void Run()
    {
        try
        {
            consumer.Subscribe(topic);
            while (!closeRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e)
                {
                    failures.Enqueue($"consume: {e.Error}");
                    continue;
                }

                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }

                consumed.Enqueue(new ConsumedRecord(
                    Name, result.Partition.Value, result.Offset.Value, Encoding.UTF8.GetString(result.Message.Value ?? [])));
                if (commitEachRecord)
                {
                    try
                    {
                        consumer.Commit(result);
                    }
                    catch (KafkaException e)
                    {
                        failures.Enqueue($"commit {result.TopicPartitionOffset}: {e.Error}");
                        log.WriteLine($"[{Name}] commit of {result.TopicPartitionOffset} failed: {e.Error}");
                    }
                }
            }

            consumer.Close();
            log.WriteLine($"[{Name}] closed after {clock.Elapsed.TotalMilliseconds:F0} ms");
        }
        catch (Exception e)
        {
            failures.Enqueue($"member thread: {e}");
            log.WriteLine($"[{Name}] member thread failed: {e}");
        }
        finally
        {
            closed.TrySetResult();
        }
    }

    private void OnRebalance(string kind, IEnumerable<int> partitions)
    {
        var list = partitions.Order().ToList();
        lock (gate)
        {
            events.Add(new RebalanceEvent(kind, list, clock.Elapsed));
            if (kind == "assigned")
            {
                owned.UnionWith(list);
            }
            else
            {
                owned.ExceptWith(list);
            }
        }

        log.WriteLine($"[{Name}] {kind} [{string.Join(',', list)}] at {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    private void OnLog(LogMessage message)
    {
        if (message.Facility == "JOINGROUP" && JoinResponse().Match(message.Message) is { Success: true } match)
        {
            var generation = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            if (generation >= 0)
            {
                lock (gate)
                {
                    joinGenerations.Add(generation);
                }
            }
        }

        // cgrp debug output is chatty; keep the lines that explain a rebalance.
        if (message.Level <= SyslogLevel.Notice || message.Facility is "JOINGROUP" or "SYNCGROUP" or "HEARTBEAT" or "REBALANCE")
        {
            log.WriteLine($"[{Name} {message.Level}] {message.Facility}: {message.Message}");
        }
    }

    // librdkafka (rdkafka_cgrp.c) logs "JoinGroup response: GenerationId <n>, Protocol …" for every JoinGroup answer.
    [GeneratedRegex(@"JoinGroup response: GenerationId (-?\d+)")]
    private static partial Regex JoinResponse();
}
