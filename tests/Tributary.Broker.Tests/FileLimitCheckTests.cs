using Microsoft.Extensions.Logging.Abstractions;

namespace Tributary.Broker.Tests;

public sealed class FileLimitCheckTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "tributary-filelimit-" + Guid.NewGuid().ToString("N"));

    public FileLimitCheckTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Counts_segment_and_index_files_per_partition_directory()
    {
        var logDir = Path.Combine(_root, "data");
        WritePartition(logDir, "orders-0", segments: 2);
        WritePartition(logDir, "orders-1", segments: 1);

        var count = FileLimitCheck.CountLogFiles([logDir, Path.Combine(_root, "missing")]);

        Assert.Equal(new LogFileCount(Partitions: 2, Segments: 3, Indexes: 6), count);
        Assert.Equal(9, count.Total);
    }

    [Fact]
    public void Reads_the_soft_open_file_limit_from_proc_limits_format()
    {
        var limits = WriteLimits("Max open files            1024                 524288               files");

        Assert.Equal(1024, FileLimitCheck.ReadSoftLimit(limits));
    }

    [Fact]
    public void Reads_an_unlimited_soft_limit_as_the_largest_value()
    {
        var limits = WriteLimits("Max open files            unlimited            unlimited            files");

        Assert.Equal(long.MaxValue, FileLimitCheck.ReadSoftLimit(limits));
    }

    [Fact]
    public void Limit_is_unknown_when_the_limits_file_is_absent()
    {
        Assert.Null(FileLimitCheck.ReadSoftLimit(Path.Combine(_root, "no-such-limits")));
    }

    [Theory]
    [InlineData(39L + FileLimitCheck.Headroom, FileLimitVerdict.Insufficient)]
    [InlineData(40L + FileLimitCheck.Headroom, FileLimitVerdict.Tight)]
    [InlineData(100L + FileLimitCheck.Headroom, FileLimitVerdict.Sufficient)]
    public void Verdict_refuses_below_segment_handles_and_warns_below_all_files_plus_headroom(long limit, FileLimitVerdict expected)
    {
        Assert.Equal(expected, FileLimitCheck.Evaluate(new LogFileCount(10, 40, 60), limit));
    }

    [Fact]
    public void Start_up_is_refused_with_the_needed_count_when_the_limit_is_below_the_files_on_disk()
    {
        var logDir = Path.Combine(_root, "data");
        for (var p = 0; p < 4; p++)
        {
            WritePartition(logDir, $"orders-{p}", segments: 1);
        }

        var limits = WriteLimits("Max open files            5                    5                    files");

        var error = Assert.Throws<InvalidOperationException>(() => FileLimitCheck.EnsureSufficient([logDir], NullLogger.Instance, limits));

        Assert.Contains($"at least {12 + FileLimitCheck.Headroom}", error.Message, StringComparison.Ordinal);
        Assert.Contains("ulimit -n", error.Message, StringComparison.Ordinal);
        Assert.Contains("LimitNOFILE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_proceeds_when_the_limit_covers_the_files()
    {
        var logDir = Path.Combine(_root, "data");
        WritePartition(logDir, "orders-0", segments: 1);
        var limits = WriteLimits("Max open files            65536                65536                files");

        var exception = Record.Exception(() => FileLimitCheck.EnsureSufficient([logDir], NullLogger.Instance, limits));

        Assert.Null(exception);
    }

    private static void WritePartition(string logDir, string name, int segments)
    {
        var dir = Path.Combine(logDir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "leader-epoch-checkpoint"), "0\n0\n");
        for (var s = 0; s < segments; s++)
        {
            var baseName = Path.Combine(dir, (s * 1000L).ToString("D20", System.Globalization.CultureInfo.InvariantCulture));
            File.WriteAllBytes(baseName + ".log", []);
            File.WriteAllBytes(baseName + ".index", []);
            File.WriteAllBytes(baseName + ".timeindex", []);
        }
    }

    private string WriteLimits(string openFilesLine)
    {
        var path = Path.Combine(_root, "limits-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path,
            "Limit                     Soft Limit           Hard Limit           Units     \n" +
            "Max processes             95185                95185                processes \n" +
            openFilesLine + "\n");
        return path;
    }
}
