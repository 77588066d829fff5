using System.Text;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.File;

/// <summary>
/// Kafka's FileStreamSource: each line of <c>file</c> becomes a string record on <c>topic</c> (at most <c>batch.size</c> per
/// poll); the source offset is the byte position after the line, so a restarted task continues after the last committed line.
/// </summary>
public sealed class FileStreamSourceConnector : SourceConnector
{
    public const string FileConfig = "file";
    public const string TopicConfig = "topic";
    public const string BatchSizeConfig = "batch.size";

    private IReadOnlyDictionary<string, string> props = new Dictionary<string, string>();

    public static ConfigDef Definition { get; } = new ConfigDef()
        .Define(FileConfig, ConfigType.String, null, Importance.High, "Source filename. If not specified, the standard input will be used")
        .Define(TopicConfig, ConfigType.List, ConfigDef.NoDefault, Validators.Of((name, v) =>
        {
            if (v is not IReadOnlyList<string> { Count: 1 } list || list[0].Length == 0)
            {
                throw new ConfigException(name, v, "'topic' in FileStreamSourceConnector configuration requires definition of a single topic");
            }
        }), Importance.High, "The topic to publish data to")
        .Define(BatchSizeConfig, ConfigType.Int, 2000, Validators.AtLeast(1), Importance.Low, "The maximum number of records the source task can read from the file each time it is polled");

    public override string Version => typeof(FileStreamSourceConnector).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override ConfigDef Config => Definition;

    public override Type TaskType => typeof(FileStreamSourceTask);

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        Definition.Parse(props);
        this.props = props;
    }

    public override IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks)
    {
        // Only one input stream makes sense.
        var config = new Dictionary<string, string> { [TopicConfig] = props[TopicConfig].Trim(), [BatchSizeConfig] = props.GetValueOrDefault(BatchSizeConfig, "2000") };
        if (props.TryGetValue(FileConfig, out var file))
        {
            config[FileConfig] = file;
        }

        return [config];
    }

    public override void Stop()
    {
    }

    /// <summary>A file's byte position says exactly where to resume; standard input cannot be re-read.</summary>
    public override ExactlyOnceSupport? ExactlyOnceSupportFor(IReadOnlyDictionary<string, string> props) =>
        props.TryGetValue(FileConfig, out var file) && file.Trim().Length > 0 ? ExactlyOnceSupport.SUPPORTED : ExactlyOnceSupport.UNSUPPORTED;
}

/// <summary>Reads complete lines of the file from the committed position on.</summary>
public sealed class FileStreamSourceTask : SourceTask
{
    public const string FilenameField = "filename";
    public const string PositionField = "position";

    /// <summary>A line longer than this is an error rather than unbounded memory.</summary>
    private const int MaxLineBytes = 8 * 1024 * 1024;

    private string? filename;
    private string topic = "";
    private int batchSize;
    private Stream? stream;
    private long position;
    private readonly MemoryStream pending = new();
    private readonly byte[] buffer = new byte[64 * 1024];

    public override string Version => typeof(FileStreamSourceTask).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        filename = props.TryGetValue(FileStreamSourceConnector.FileConfig, out var f) && f.Length > 0 ? f : null;
        topic = props[FileStreamSourceConnector.TopicConfig];
        batchSize = int.Parse(props.GetValueOrDefault(FileStreamSourceConnector.BatchSizeConfig, "2000"), System.Globalization.CultureInfo.InvariantCulture);
    }

    private IReadOnlyDictionary<string, object?> SourcePartition => new Dictionary<string, object?> { [FilenameField] = filename };

    private bool Open()
    {
        if (stream is not null)
        {
            return true;
        }

        if (filename is null)
        {
            stream = Console.OpenStandardInput();
            return true;
        }

        if (!System.IO.File.Exists(filename))
        {
            return false; // Kafka waits for the file to appear
        }

        var s = new FileStream(filename, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        var stored = Context?.OffsetStorageReader.Offset(SourcePartition);
        if (stored is not null && stored.TryGetValue(PositionField, out var p) && p is long pos)
        {
            var length = s.Length;
            if (pos > length)
            {
                s.Dispose();
                throw new ConnectException($"Stored position {pos} is past the end of {filename} ({length} bytes): the file was truncated or replaced.");
            }

            s.Seek(pos, SeekOrigin.Begin);
            position = pos;
        }

        stream = s;
        return true;
    }

    public override async Task<IReadOnlyList<SourceRecord>?> PollAsync(CancellationToken cancellation)
    {
        if (!Open())
        {
            await Task.Delay(200, cancellation);
            return null;
        }

        var records = new List<SourceRecord>();
        while (records.Count < batchSize)
        {
            var lineEnd = Array.IndexOf(pending.GetBuffer(), (byte)'\n', 0, (int)pending.Length);
            if (lineEnd < 0)
            {
                var n = await stream!.ReadAsync(buffer, cancellation);
                if (n == 0)
                {
                    break;
                }

                pending.Write(buffer, 0, n);
                if (pending.Length > MaxLineBytes && Array.IndexOf(pending.GetBuffer(), (byte)'\n', 0, (int)pending.Length) < 0)
                {
                    throw new ConnectException($"A line of {filename} is longer than {MaxLineBytes} bytes.");
                }

                continue;
            }

            var raw = pending.GetBuffer();
            var length = lineEnd > 0 && raw[lineEnd - 1] == (byte)'\r' ? lineEnd - 1 : lineEnd;
            var line = Encoding.UTF8.GetString(raw, 0, length);
            position += lineEnd + 1;
            var rest = (int)pending.Length - (lineEnd + 1);
            Buffer.BlockCopy(raw, lineEnd + 1, raw, 0, rest);
            pending.SetLength(rest);
            records.Add(new SourceRecord(SourcePartition, new Dictionary<string, object?> { [PositionField] = position }, topic, null, null, null, Schema.String, line));
        }

        if (records.Count == 0)
        {
            await Task.Delay(100, cancellation);
        }

        return records;
    }

    public override void Stop()
    {
        if (filename is not null)
        {
            stream?.Dispose();
        }

        stream = null;
    }
}
