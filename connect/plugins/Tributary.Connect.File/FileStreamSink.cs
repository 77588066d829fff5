using System.Text;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.File;

/// <summary>Kafka's FileStreamSink: appends each record's value as a line to <c>file</c> (standard output when unset).</summary>
public sealed class FileStreamSinkConnector : SinkConnector
{
    public const string FileConfig = "file";

    private IReadOnlyDictionary<string, string> props = new Dictionary<string, string>();

    public static ConfigDef Definition { get; } = new ConfigDef()
        .Define(FileConfig, ConfigType.String, null, Importance.High, "Destination filename. If not specified, the standard output will be used");

    public override string Version => typeof(FileStreamSinkConnector).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override ConfigDef Config => Definition;

    public override Type TaskType => typeof(FileStreamSinkTask);

    public override void Start(IReadOnlyDictionary<string, string> props) => this.props = props;

    public override IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks)
    {
        var config = new Dictionary<string, string>();
        if (props.TryGetValue(FileConfig, out var file))
        {
            config[FileConfig] = file;
        }

        return [.. Enumerable.Repeat<IReadOnlyDictionary<string, string>>(config, maxTasks)];
    }

    public override void Stop()
    {
    }
}

/// <summary>Writes values as lines; <see cref="Flush"/> makes them durable before offsets are committed.</summary>
public sealed class FileStreamSinkTask : SinkTask
{
    private Stream? output;
    private bool isFile;

    public override string Version => typeof(FileStreamSinkTask).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    public override void Start(IReadOnlyDictionary<string, string> props)
    {
        if (props.TryGetValue(FileStreamSinkConnector.FileConfig, out var file) && file.Length > 0)
        {
            output = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 64 * 1024);
            isFile = true;
        }
        else
        {
            output = Console.OpenStandardOutput();
        }
    }

    public override void Put(IReadOnlyCollection<SinkRecord> records)
    {
        foreach (var r in records)
        {
            var text = r.Value switch
            {
                null => "null",
                string s => s,
                byte[] b => Convert.ToBase64String(b),
                _ => ValueEquality.Show(r.Value),
            };
            output!.Write(Encoding.UTF8.GetBytes(text + "\n"));
        }
    }

    public override void Flush(IReadOnlyDictionary<TopicPartition, long> currentOffsets)
    {
        output!.Flush();
        if (isFile)
        {
            ((FileStream)output).Flush(flushToDisk: true);
        }
    }

    public override void Stop()
    {
        output?.Flush();
        if (isFile)
        {
            output?.Dispose();
        }

        output = null;
    }
}
