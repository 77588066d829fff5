using System.Globalization;

namespace Tributary.Raft;

/// <summary>One voter of the quorum, as listed in <c>controller.quorum.voters</c>.</summary>
public sealed record QuorumVoter(int Id, string Host, int Port)
{
    public override string ToString() => $"{Id}@{Host}:{Port}";

    /// <summary>Parses Kafka's <c>controller.quorum.voters</c> form: <c>1@host:port,2@host:port,…</c>.</summary>
    /// <exception cref="FormatException">An entry is not <c>id@host:port</c>, or an id repeats.</exception>
    public static IReadOnlyList<QuorumVoter> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var voters = new List<QuorumVoter>();
        foreach (string rawEntry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int at = rawEntry.IndexOf('@', StringComparison.Ordinal);
            int colon = rawEntry.LastIndexOf(':');
            if (at <= 0 || colon <= at + 1 || colon == rawEntry.Length - 1
                || !int.TryParse(rawEntry.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out int id)
                || !int.TryParse(rawEntry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
                || port is 0 or > 65535)
            {
                throw new FormatException($"Quorum voter '{rawEntry}' is not id@host:port");
            }

            // IPv6 literals are written [::1]:9093 as in Kafka; the brackets are not part of the host.
            string host = rawEntry[(at + 1)..colon].Trim('[', ']');
            if (voters.Exists(v => v.Id == id))
            {
                throw new FormatException($"Quorum voter id {id} is listed twice");
            }

            voters.Add(new QuorumVoter(id, host, port));
        }

        if (voters.Count == 0)
        {
            throw new FormatException("controller.quorum.voters lists no voters");
        }

        return voters;
    }
}
