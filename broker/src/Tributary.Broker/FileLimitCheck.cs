using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Tributary.Broker;

/// <summary>
/// Start-up check that the process may open as many files as the partitions on disk need: every segment keeps its
/// <c>.log</c> handle open and its indexes open on use, so a broker under a low <c>RLIMIT_NOFILE</c> would otherwise fail
/// later with "Too many open files" in the middle of recovery or on a client's request.
/// </summary>
public static partial class FileLimitCheck
{
    /// <summary>Descriptors kept free for sockets, the metadata log, checkpoints and the runtime itself.</summary>
    public const long Headroom = 512;

    /// <summary>Where Linux shows this process's resource limits.</summary>
    public const string ProcLimitsPath = "/proc/self/limits";

    /// <summary>Counts the files under <paramref name="logDirs"/>, reads the soft limit and fails start-up if it is clearly too low.</summary>
    /// <exception cref="InvalidOperationException">The limit cannot even hold every segment's always-open handle plus headroom.</exception>
    public static void EnsureSufficient(IReadOnlyList<string> logDirs, ILogger logger, string limitsPath = ProcLimitsPath)
    {
        var files = CountLogFiles(logDirs);
        var limit = ReadSoftLimit(limitsPath);
        var verdict = Evaluate(files, limit);
        switch (verdict)
        {
            case FileLimitVerdict.Insufficient:
                LogInsufficient(logger, limit!.Value, files.Total, files.Total + Headroom, files.Partitions);
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"open-file limit {limit} cannot hold the {files.Total} segment and index files of {files.Partitions} partitions in log.dirs; " +
                    $"raise it to at least {files.Total + Headroom} (ulimit -n, or LimitNOFILE= in the systemd unit)"));
            case FileLimitVerdict.Tight:
                LogTight(logger, limit!.Value, files.Total, files.Total + Headroom, files.Partitions);
                break;
            case FileLimitVerdict.Unknown:
                LogUnknown(logger);
                break;
            default:
                LogSufficient(logger, limit!.Value, files.Total, files.Partitions);
                break;
        }
    }

    /// <summary>Judges <paramref name="files"/> against the soft limit (null when it could not be read).</summary>
    public static FileLimitVerdict Evaluate(LogFileCount files, long? limit) => limit switch
    {
        null => FileLimitVerdict.Unknown,
        // Every segment's .log handle stays open for the log's lifetime; indexes open on first use and then stay open.
        var l when l < files.Segments + Headroom => FileLimitVerdict.Insufficient,
        var l when l < files.Total + Headroom => FileLimitVerdict.Tight,
        _ => FileLimitVerdict.Sufficient,
    };

    /// <summary>Counts partition directories and the segment (<c>.log</c>) and index files in them; missing dirs count as empty.</summary>
    public static LogFileCount CountLogFiles(IEnumerable<string> logDirs)
    {
        long partitions = 0, segments = 0, indexes = 0;
        foreach (var logDir in logDirs)
        {
            if (!Directory.Exists(logDir))
            {
                continue;
            }

            foreach (var partitionDir in Directory.EnumerateDirectories(logDir))
            {
                var counted = false;
                foreach (var file in Directory.EnumerateFiles(partitionDir))
                {
                    // Suffix test on the name only: ".log.cleaned" and ".log.N.swap" are transient and closed after open.
                    if (file.EndsWith(".log", StringComparison.Ordinal))
                    {
                        segments++;
                        counted = true;
                    }
                    else if (file.EndsWith(".index", StringComparison.Ordinal) || file.EndsWith(".timeindex", StringComparison.Ordinal))
                    {
                        indexes++;
                    }
                }

                if (counted)
                {
                    partitions++;
                }
            }
        }

        return new LogFileCount(partitions, segments, indexes);
    }

    /// <summary>The soft <c>RLIMIT_NOFILE</c> from <c>/proc/self/limits</c>; null where that file is absent (not Linux) or unparsable.</summary>
    public static long? ReadSoftLimit(string limitsPath = ProcLimitsPath)
    {
        if (!File.Exists(limitsPath))
        {
            return null;
        }

        foreach (var line in File.ReadLines(limitsPath))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                continue;
            }

            // "Max open files            20000                20000                files"
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
            {
                return null;
            }

            return fields[0] == "unlimited" ? long.MaxValue
                : long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
        }

        return null;
    }

    [LoggerMessage(EventId = 600, EventName = "OpenFileLimitInsufficient", Level = LogLevel.Critical,
        Message = "Open-file limit {Limit} cannot hold the {Files} segment and index files of {Partitions} partitions in log.dirs; refusing to start. Raise it to at least {Needed}: `ulimit -n {Needed}` in the shell that starts the broker, or LimitNOFILE={Needed} in its systemd unit")]
    private static partial void LogInsufficient(ILogger logger, long limit, long files, long needed, long partitions);

    [LoggerMessage(EventId = 601, EventName = "OpenFileLimitTight", Level = LogLevel.Warning,
        Message = "Open-file limit {Limit} leaves little room beside the {Files} segment and index files of {Partitions} partitions; clients may see failures. Raise it to at least {Needed} (`ulimit -n` or LimitNOFILE)")]
    private static partial void LogTight(ILogger logger, long limit, long files, long needed, long partitions);

    [LoggerMessage(EventId = 602, EventName = "OpenFileLimitUnknown", Level = LogLevel.Debug,
        Message = "Open-file limit unknown on this platform; skipping the start-up check")]
    private static partial void LogUnknown(ILogger logger);

    [LoggerMessage(EventId = 603, EventName = "OpenFileLimitChecked", Level = LogLevel.Information,
        Message = "Open-file limit {Limit} covers the {Files} segment and index files of {Partitions} partitions")]
    private static partial void LogSufficient(ILogger logger, long limit, long files, long partitions);
}

/// <summary>Partitions, segment files and index files found under the log directories.</summary>
public readonly record struct LogFileCount(long Partitions, long Segments, long Indexes)
{
    /// <summary>Files the broker may hold open at once for these partitions.</summary>
    public long Total => Segments + Indexes;
}

/// <summary>How the open-file limit compares with what the logs on disk need.</summary>
public enum FileLimitVerdict
{
    /// <summary>Room for every file plus <see cref="FileLimitCheck.Headroom"/>.</summary>
    Sufficient,

    /// <summary>Room for the segment handles but not for every index as well: start, with a warning.</summary>
    Tight,

    /// <summary>Fewer descriptors than the segments' always-open handles plus headroom: the broker refuses to start.</summary>
    Insufficient,

    /// <summary>The limit could not be read (not Linux).</summary>
    Unknown,
}
