using System.Net;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Harness;

/// <summary>The process harness itself against the real host: start, health endpoints, SIGTERM, SIGKILL + restart.</summary>
public sealed class BrokerProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Started_broker_answers_200_on_healthz_and_readyz()
    {
        await using var broker = await BrokerProcess.StartAsync(output);

        Assert.Equal(HttpStatusCode.OK, await broker.GetStatusAsync("/healthz"));
        Assert.Equal(HttpStatusCode.OK, await broker.GetStatusAsync("/readyz"));
    }

    [Fact]
    public async Task Broker_exits_with_code_0_on_SIGTERM()
    {
        await using var broker = await BrokerProcess.StartAsync(output);

        var exitCode = await broker.StopAsync();

        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task Broker_restarts_after_SIGKILL_on_the_same_ports_and_data_directory()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var firstPid = broker.ProcessId;

        broker.Kill();
        await broker.RestartAsync();

        Assert.NotEqual(firstPid, broker.ProcessId);
        Assert.True(Directory.Exists(broker.DataDirectory));
        Assert.Equal(HttpStatusCode.OK, await broker.GetStatusAsync("/readyz"));
        output.WriteLine($"restart to /readyz: {broker.LastStartupDuration.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Start_fails_fast_with_the_brokers_own_message_when_a_config_value_is_invalid()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(
            () => BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["num.partitions"] = "zero" }));

        Assert.Contains("exited with code 1", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("num.partitions", thrown.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"Start-up failure took {clock.Elapsed} to surface.");
    }

    [Fact]
    public async Task Start_fails_with_exit_code_1_when_the_log_directory_cannot_be_opened()
    {
        // A regular file where the log directory should be: config is valid, opening the logs is not.
        var notADirectory = Path.Combine(Path.GetTempPath(), "tributary-it-file-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(notADirectory, "not a directory");
        try
        {
            var thrown = await Assert.ThrowsAsync<InvalidOperationException>(
                () => BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["log.dirs"] = notADirectory }));

            Assert.Contains("exited with code 1", thrown.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notADirectory);
        }
    }

    [Fact]
    public async Task Disposing_the_harness_kills_the_broker_and_deletes_its_data_directory()
    {
        var broker = await BrokerProcess.StartAsync(output);
        var pid = broker.ProcessId;
        var dataDirectory = broker.DataDirectory;

        await broker.DisposeAsync();

        Assert.False(Directory.Exists(dataDirectory), $"{dataDirectory} still exists.");
        Assert.False(Directory.Exists($"/proc/{pid}"), $"Broker PID {pid} is still alive.");
    }
}
