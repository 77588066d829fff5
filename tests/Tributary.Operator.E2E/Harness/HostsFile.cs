using System.Diagnostics;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// The node test double's share of <c>/etc/hosts</c>: lines it adds carry a tag naming the owning process, so it
/// replaces exactly its own lines, removes them at the end, and (at start) removes lines left by a run that died.
/// </summary>
public sealed class HostsFile
{
    private const string TagPrefix = "# tributary-node-test-double pid=";
    private static readonly Lock FileGate = new();
    private readonly string path;
    private readonly string ownTag;
    private IReadOnlyList<string> current = [];

    public HostsFile(string path = "/etc/hosts")
    {
        this.path = path;
        ownTag = TagPrefix + Environment.ProcessId;
    }

    /// <summary>Removes tagged lines whose owning process no longer runs (a crashed earlier run), and our own.</summary>
    public void RemoveStaleLines()
    {
        Rewrite(line => OwnerOf(line) is { } pid && (pid == Environment.ProcessId || !IsAlive(pid)), []);
    }

    /// <summary>Makes our tagged lines exactly <paramref name="entries"/> (address, names), leaving every other line.</summary>
    public void SetEntries(IReadOnlyList<(string Address, IReadOnlyList<string> Names)> entries)
    {
        var lines = entries.Select(e => $"{e.Address} {string.Join(' ', e.Names)} {ownTag}").ToList();
        if (lines.SequenceEqual(current))
        {
            return;
        }

        Rewrite(line => line.EndsWith(ownTag, StringComparison.Ordinal), lines);
        current = lines;
    }

    public void RemoveOwnLines()
    {
        Rewrite(line => line.EndsWith(ownTag, StringComparison.Ordinal), []);
        current = [];
    }

    private void Rewrite(Func<string, bool> remove, IReadOnlyList<string> add)
    {
        lock (FileGate)
        {
            var kept = File.ReadAllLines(path).Where(l => !remove(l)).ToList();
            kept.AddRange(add);
            var text = string.Join('\n', kept) + "\n";
            // Readers (glibc re-reads the file on every lookup) must never see a half-written file: write aside and
            // rename over it. A bind-mounted /etc/hosts cannot be renamed over; then write in place.
            var aside = path + ".tributary-tmp";
            try
            {
                File.WriteAllText(aside, text);
                File.Move(aside, path, overwrite: true);
            }
            catch (IOException)
            {
                File.Delete(aside);
                File.WriteAllText(path, text);
            }
        }
    }

    private static int? OwnerOf(string line)
    {
        var at = line.IndexOf(TagPrefix, StringComparison.Ordinal);
        return at >= 0 && int.TryParse(line.AsSpan(at + TagPrefix.Length), out var pid) ? pid : null;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
