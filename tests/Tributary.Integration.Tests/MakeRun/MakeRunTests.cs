using System.Text.RegularExpressions;
using Confluent.Kafka;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.MakeRun;

/// <summary>
/// `make run` as a newcomer uses it: the real scripts/run-cluster.sh on make run's fixed ports (9092–9294). The only
/// tests allowed on those ports; they fail at once, naming the port, when something else holds one.
/// </summary>
public sealed class MakeRunTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(150);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private static readonly string[] AllBootstrap = ["127.0.0.1:9092", "127.0.0.1:9192", "127.0.0.1:9292"];

    [Fact]
    public async Task A_killed_broker_leaves_the_others_serving_acks_all_and_broker_up_brings_it_back_into_the_isr()
    {
        var log = new TestOutputSink(output);
        RunClusterScript.RequireFixedPortsFree();
        await using var script = RunClusterScript.Start(log);
        await script.WaitForLineAsync(new Regex(@"^run-cluster: 3 brokers ready"), ReadyTimeout);

        var clients = new ClusterClients(string.Join(',', AllBootstrap), log);
        var topic = $"make-run-{Guid.NewGuid():N}"[..24];
        await clients.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3, new Dictionary<string, string> { ["min.insync.replicas"] = "2" });
        var before = ClusterClients.SequenceKeys("before", 0, 200);
        using (var producer = clients.CreateProducer())
        {
            Assert.All(ClusterClients.ProduceAndWait(producer, topic, before, StepTimeout), code => Assert.Equal(ErrorCode.NoError, code));
        }

        var victim = clients.Partition(topic, 0)!.Leader;
        var victimPid = script.BrokerPid(victim);
        var survivors = Enumerable.Range(1, 3).Where(n => n != victim).ToArray();
        output.WriteLine($"killing the leader of {topic}-0: broker {victim} (PID {victimPid}); survivors {string.Join(',', survivors)}");
        Assert.True(PosixSignals.Send(victimPid, PosixSignals.SigKill), $"broker {victim} (PID {victimPid}) was not running");

        await script.WaitForLineAsync(new Regex($@"^run-cluster: broker {victim} \(PID {victimPid}\) exited with status 137 \(killed by SIGKILL\)"), StepTimeout);
        await script.WaitForLineAsync(new Regex($@"start broker {victim} again with: make broker-up N={victim}$"), StepTimeout);

        var survivorClients = new ClusterClients(string.Join(',', survivors.Select(n => AllBootstrap[n - 1])), log);
        var after = ClusterClients.SequenceKeys("after", 0, 500);
        using (var producer = survivorClients.CreateProducer())
        {
            var codes = ClusterClients.ProduceAndWait(producer, topic, after, StepTimeout);
            Assert.All(codes, code => Assert.Equal(ErrorCode.NoError, code));
        }

        var read = survivorClients.ReadAll(topic, 1, StepTimeout).Select(r => r.Key).ToList();
        Assert.Equal(before.Concat(after), read);

        Assert.False(script.HasExited, "run-cluster.sh exited after one broker died");
        Assert.All(survivors, n => Assert.True(RunClusterScript.IsAlive(script.BrokerPid(n)), $"broker {n} is not running"));

        var brokerUp = await ExternalProcess.RunAsync("make",
            ["-s", "-C", RepositoryLayout.Root, "broker-up", $"N={victim}", $"DATA_DIR={script.DataDirectory}"], log, TimeSpan.FromSeconds(150));
        Assert.True(brokerUp.ExitCode == 0, $"make broker-up N={victim} failed ({brokerUp.ExitCode}): {brokerUp.StandardOutput}{brokerUp.StandardError}");
        Assert.Contains($"broker {victim} is ready", brokerUp.StandardOutput, StringComparison.Ordinal);
        var restartedPid = script.BrokerPid(victim);
        Assert.NotEqual(victimPid, restartedPid);

        var rejoined = await clients.WaitForPartitionAsync(topic, 0, s => s.Isr.Contains(victim), StepTimeout);
        output.WriteLine($"after broker-up: {rejoined}");

        var exitCode = await script.TerminateAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(143, exitCode);
        var outputText = script.Output();
        foreach (var (node, pid) in survivors.Select(n => (n, script.BrokerPid(n))).Append((victim, restartedPid)))
        {
            Assert.False(RunClusterScript.IsAlive(pid), $"broker {node} (PID {pid}) still runs after the script exited");
            Assert.Matches(new Regex($@"^\[broker-{node}\] .*Broker {node}: controlled shutdown (complete|not confirmed)", RegexOptions.Multiline), outputText);
            Assert.Matches(new Regex($@"^\[broker-{node}\] .*Broker {node} stopped; logs closed cleanly", RegexOptions.Multiline), outputText);
            Assert.Contains($"run-cluster: broker {node} (PID {pid}) exited with status 0", outputText, StringComparison.Ordinal);
        }
    }
}
