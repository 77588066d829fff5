using System.Net;
using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>
/// A connection that sends something no Kafka client would is closed, and only that connection: the broker and
/// its other clients carry on (ARCHITECTURE.md, Transport).
/// </summary>
public sealed class MalformedInputTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private static readonly TimeSpan CloseWithin = TimeSpan.FromSeconds(5);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;
    private readonly ITestOutputHelper output;

    public MalformedInputTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        this.output = output;
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Broker_closes_a_connection_that_sends_a_frame_of_random_garbage()
    {
        var reaction = await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.RandomGarbageFrame(), halfCloseAfterSending: false, CloseWithin);

        AssertClosed(reaction);
    }

    [Fact]
    public async Task Broker_closes_a_connection_whose_frame_claims_2_GiB_without_allocating_it()
    {
        var peakBefore = broker.PeakResidentBytes();

        var reaction = await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TwoGibFrameHeader(), halfCloseAfterSending: false, CloseWithin);

        AssertClosed(reaction);
        var growth = broker.PeakResidentBytes() - peakBefore;
        Assert.True(growth < 256L * 1024 * 1024, $"Broker peak RSS grew by {growth / (1024 * 1024)} MiB after a 2 GiB frame header.");
    }

    [Fact]
    public async Task Broker_closes_a_connection_that_sends_an_unknown_api_key()
    {
        var reaction = await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.UnknownApiKeyFrame(), halfCloseAfterSending: false, CloseWithin);

        AssertClosed(reaction);
    }

    [Fact]
    public async Task Broker_closes_a_connection_that_ends_in_the_middle_of_a_frame()
    {
        var reaction = await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TruncatedFrame(), halfCloseAfterSending: true, CloseWithin);

        AssertClosed(reaction);
    }

    [Fact]
    public async Task A_producer_on_the_same_broker_gets_every_record_acknowledged_while_malformed_connections_come_and_go()
    {
        var topic = KafkaClients.UniqueTopic("beside-garbage");
        await clients.CreateTopicAsync(topic, partitions: 1);
        using var producer = clients.CreateProducer();
        var acknowledged = 0;
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        var producing = Task.Run(async () =>
        {
            var produced = 0;
            while (!stop.IsCancellationRequested)
            {
                producer.Produce(topic, new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"steady-{produced}") }, report =>
                {
                    if (report.Error.IsError)
                    {
                        lock (failures)
                        {
                            failures.Add(report.Error.ToString());
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref acknowledged);
                    }
                });
                produced++;
                await Task.Delay(2);
            }

            return produced;
        });

        // Keep the bad connections coming for a while so they overlap many produce requests, not just a few.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; round < 3 || clock.Elapsed < TimeSpan.FromSeconds(3); round++)
        {
            await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.RandomGarbageFrame(), false, CloseWithin);
            await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TwoGibFrameHeader(), false, CloseWithin);
            await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.UnknownApiKeyFrame(), false, CloseWithin);
            await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TruncatedFrame(), true, CloseWithin);
        }

        await stop.CancelAsync();
        var producedCount = await producing;
        var unresolved = producer.Flush(TimeSpan.FromSeconds(30));

        output.WriteLine($"produced {producedCount}, acknowledged {acknowledged}, failed {failures.Count}");
        Assert.Equal(0, unresolved);
        Assert.True(failures.Count == 0, $"{failures.Count} records failed; first: {failures.FirstOrDefault()}");
        Assert.Equal(producedCount, acknowledged);
        Assert.True(producedCount > 0, "The producer never got to produce.");
    }

    [Fact]
    public async Task Healthz_still_answers_200_after_every_kind_of_malformed_connection()
    {
        await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.RandomGarbageFrame(), false, CloseWithin);
        await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TwoGibFrameHeader(), false, CloseWithin);
        await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.UnknownApiKeyFrame(), false, CloseWithin);
        await RawConnection.SendAndObserveAsync(broker.KafkaPort, MalformedInput.TruncatedFrame(), true, CloseWithin);

        Assert.True(broker.IsRunning, "The broker process exited.");
        Assert.Equal(HttpStatusCode.OK, await broker.GetStatusAsync("/healthz"));
    }

    private void AssertClosed(ServerReaction reaction)
    {
        output.WriteLine($"broker reaction: {reaction}");
        Assert.True(reaction.Closed, $"Connection still open {reaction.Elapsed.TotalSeconds:F1} s after the malformed input ({reaction.BytesReceived} bytes received).");
    }
}
