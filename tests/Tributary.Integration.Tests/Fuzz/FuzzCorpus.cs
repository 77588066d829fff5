using System.Text;

namespace Tributary.Integration.Tests.Fuzz;

/// <summary>One corpus file: a named problem and the frames that showed it.</summary>
public sealed record CorpusEntry(string Name, IReadOnlyList<FuzzFrame> Frames);

/// <summary>
/// The corpus of frames that once caused a problem: one <c>.hex</c> file per problem, lines starting with <c>#</c> say
/// what it was, every other line is one frame (size prefix included) in hex. Failed fuzz batches are saved in the same
/// format (FUZZ_CORPUS_OUT, default the temp directory) so the frames can be minimized and added here.
/// </summary>
public static class FuzzCorpus
{
    public static IReadOnlyList<CorpusEntry> Load(string directory)
    {
        var entries = new List<CorpusEntry>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.hex").Order(StringComparer.Ordinal))
        {
            var frames = File.ReadLines(file)
                .Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l =>
                {
                    var bytes = Convert.FromHexString(l);
                    var apiKey = bytes.Length >= 6 ? (short)((bytes[4] << 8) | bytes[5]) : (short)-1;
                    var version = bytes.Length >= 8 ? (short)((bytes[6] << 8) | bytes[7]) : (short)-1;
                    return new FuzzFrame(apiKey, version, Path.GetFileNameWithoutExtension(file), bytes);
                })
                .ToList();
            entries.Add(new CorpusEntry(Path.GetFileNameWithoutExtension(file), frames));
        }

        return entries;
    }

    /// <summary>Writes <paramref name="frames"/> as a corpus file and returns its path.</summary>
    public static string SaveFailedBatch(IReadOnlyList<FuzzFrame> frames, int seed)
    {
        var directory = Environment.GetEnvironmentVariable("FUZZ_CORPUS_OUT") ?? Path.GetTempPath();
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"fuzz-failure-seed{seed}-{DateTime.UtcNow:yyyyMMddHHmmss}.hex");
        var text = new StringBuilder();
        text.AppendLine($"# fuzz batch before a failed health check, seed {seed}");
        foreach (var frame in frames)
        {
            text.AppendLine($"# api {frame.ApiKey} v{frame.ApiVersion}: {frame.Mutation}");
            text.AppendLine(Convert.ToHexString(frame.Bytes));
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }
}
