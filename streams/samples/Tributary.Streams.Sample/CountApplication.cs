using System.Globalization;
using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;

namespace Tributary.Streams.Sample;

/// <summary>
/// <c>tributary-streams-sample count BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR [exactly_once_v2|at_least_once [MAX_POLL_RECORDS]]</c>:
/// counts records per key (an in-memory store backed by its changelog) and writes each key's new count to OUTPUT,
/// until SIGTERM/Ctrl-C or a SIGKILL. The fault tests start two of these as separate processes of one application and
/// kill one by PID. Prints <c>count: RUNNING</c> (and every other state) on stdout. MAX_POLL_RECORDS 1 works around
/// Streamiz 1.8.2's batches that straddle a rebalance (streams/README.md, "Open"): with it a batch is one Consume call.
/// </summary>
public static class CountApplication
{
    public const string Command = "count";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length is < 6 or > 8 || args[0] != Command)
        {
            await Console.Error.WriteLineAsync(
                "usage: tributary-streams-sample count BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR [exactly_once_v2|at_least_once [MAX_POLL_RECORDS]]");
            return 2;
        }

        int? maxPollRecords = null;
        if (args.Length == 8)
        {
            if (!int.TryParse(args[7], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                await Console.Error.WriteLineAsync($"count: MAX_POLL_RECORDS must be a positive integer, not '{args[7]}'");
                return 2;
            }

            maxPollRecords = parsed;
        }

        var (bootstrap, applicationId, input, output, stateDirectory) = (args[1], args[2], args[3], args[4], args[5]);
        var guarantee = args.Length >= 7 ? args[6] : "exactly_once_v2";
        if (guarantee is not ("exactly_once_v2" or "at_least_once"))
        {
            await Console.Error.WriteLineAsync($"count: unknown processing guarantee '{guarantee}' (exactly_once_v2 or at_least_once)");
            return 2;
        }

        var config = new StreamConfig<StringSerDes, StringSerDes>
        {
            ApplicationId = applicationId,
            BootstrapServers = bootstrap,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            Guarantee = guarantee == "exactly_once_v2" ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE,
            CommitIntervalMs = 100,
            StateDir = stateDirectory,
            NumStreamThreads = 1,
            DefaultCacheEnabled = false,
            SessionTimeoutMs = 6_000,
            HeartbeatIntervalMs = 1_000,
            // Kafka Streams' exactly-once default: a killed instance's open transaction is aborted after 10 s.
            TransactionTimeoutMs = 10_000,
        };
        if (maxPollRecords is { } max)
        {
            config.MaxPollRecords = max;
        }

        var builder = new StreamBuilder();
        builder.Stream<string, string>(input)
            .GroupByKey()
            .Count(InMemory.As<string, long>("counts").WithValueSerdes<Int64SerDes>())
            .ToStream()
            .MapValues((count, _) => count.ToString(CultureInfo.InvariantCulture))
            .To(output);

        using var stream = new KafkaStream(builder.Build(), config);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
        stream.StateChanged += (_, now) => Console.WriteLine($"count: {now}");
        await stream.StartAsync(stop.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("count: stopping");
        }

        return 0;
    }
}
