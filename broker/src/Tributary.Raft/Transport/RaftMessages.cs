using System.Buffers;
using Tributary.Protocol;
using Tributary.Raft.Log;

namespace Tributary.Raft.Transport;

/// <summary>A message between voters. Raft here is message-passing: every request and response travels one-way on the
/// sender's own connection, so a lost message is just a retry on the next heartbeat or election.</summary>
internal abstract record QuorumMessage(int From, int To, long Term);

/// <summary>RequestVote: a candidate asks for this voter's vote in <see cref="QuorumMessage.Term"/>.</summary>
internal sealed record VoteRequest(int From, int To, long Term, long LastIndex, long LastTerm) : QuorumMessage(From, To, Term);

internal sealed record VoteResponse(int From, int To, long Term, bool Granted) : QuorumMessage(From, To, Term);

/// <summary>AppendEntries: the leader's entries after <see cref="PrevIndex"/> (none for a heartbeat) and its commit index.</summary>
internal sealed record AppendRequest(int From, int To, long Term, long PrevIndex, long PrevTerm, long LeaderCommit,
    IReadOnlyList<QuorumEntry> Entries) : QuorumMessage(From, To, Term);

/// <summary>On success <see cref="Index"/> is the follower's last index known to match the leader; on failure it is the
/// index the leader should retry from.</summary>
internal sealed record AppendResponse(int From, int To, long Term, bool Success, long Index) : QuorumMessage(From, To, Term);

/// <summary>Raft's TimeoutNow (thesis §3.10): the resigning leader tells its most caught-up follower to start an
/// election at once instead of waiting for its election timer.</summary>
internal sealed record TimeoutNowRequest(int From, int To, long Term) : QuorumMessage(From, To, Term);

/// <summary>One chunk of the leader's snapshot through <see cref="LastIndex"/>, sent to a follower whose next index lies
/// below the leader's log start (Raft's InstallSnapshot; KRaft's followers pull the same with FetchSnapshot).</summary>
internal sealed record InstallSnapshotRequest(int From, int To, long Term, long LastIndex, long LastTerm, int TotalBytes, int Position,
    byte[] Chunk) : QuorumMessage(From, To, Term);

/// <summary>The follower's progress on the snapshot through <see cref="LastIndex"/>: the position it wants next; equal to
/// the snapshot's size once it is installed.</summary>
internal sealed record InstallSnapshotResponse(int From, int To, long Term, long LastIndex, int NextPosition) : QuorumMessage(From, To, Term);

/// <summary>Frames quorum messages as <c>int32 size, int8 kind, int32 from, int32 to, int64 term, fields…</c>.</summary>
internal static class QuorumMessageCodec
{
    private const sbyte VoteRequestKind = 1;
    private const sbyte VoteResponseKind = 2;
    private const sbyte AppendRequestKind = 3;
    private const sbyte AppendResponseKind = 4;
    private const sbyte TimeoutNowKind = 5;
    private const sbyte InstallSnapshotKind = 6;
    private const sbyte InstallSnapshotResponseKind = 7;

    /// <summary>Whether a frame's kind byte is a voter-to-voter message (as opposed to a client frame).</summary>
    public static bool IsVoterKind(sbyte kind) => kind is >= VoteRequestKind and <= InstallSnapshotResponseKind;

    /// <summary>The whole frame, size prefix included.</summary>
    public static byte[] Encode(QuorumMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0); // size, patched below
        writer.WriteInt8(message switch
        {
            VoteRequest => VoteRequestKind,
            VoteResponse => VoteResponseKind,
            AppendRequest => AppendRequestKind,
            AppendResponse => AppendResponseKind,
            TimeoutNowRequest => TimeoutNowKind,
            InstallSnapshotRequest => InstallSnapshotKind,
            InstallSnapshotResponse => InstallSnapshotResponseKind,
            _ => throw new ArgumentException($"Unknown quorum message {message.GetType().Name}", nameof(message)),
        });
        writer.WriteInt32(message.From);
        writer.WriteInt32(message.To);
        writer.WriteInt64(message.Term);
        switch (message)
        {
            case VoteRequest m:
                writer.WriteInt64(m.LastIndex);
                writer.WriteInt64(m.LastTerm);
                break;
            case VoteResponse m:
                writer.WriteBool(m.Granted);
                break;
            case AppendRequest m:
                writer.WriteInt64(m.PrevIndex);
                writer.WriteInt64(m.PrevTerm);
                writer.WriteInt64(m.LeaderCommit);
                writer.WriteInt32(m.Entries.Count);
                foreach (var entry in m.Entries)
                {
                    writer.WriteInt64(entry.Term);
                    writer.WriteBytes(entry.Payload, compact: false);
                }

                break;
            case AppendResponse m:
                writer.WriteBool(m.Success);
                writer.WriteInt64(m.Index);
                break;
            case InstallSnapshotRequest m:
                writer.WriteInt64(m.LastIndex);
                writer.WriteInt64(m.LastTerm);
                writer.WriteInt32(m.TotalBytes);
                writer.WriteInt32(m.Position);
                writer.WriteBytes(m.Chunk, compact: false);
                break;
            case InstallSnapshotResponse m:
                writer.WriteInt64(m.LastIndex);
                writer.WriteInt32(m.NextPosition);
                break;
        }

        byte[] frame = buffer.WrittenSpan.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        return frame;
    }

    /// <summary>Decodes one frame body (without its size prefix).</summary>
    /// <exception cref="MalformedMessageException">Truncated, unknown kind, or beyond the configured bounds.</exception>
    public static QuorumMessage Decode(ReadOnlyMemory<byte> body, int maxEntries, int maxPayloadBytes)
    {
        var reader = new KafkaReader(body);
        sbyte kind = reader.ReadInt8();
        int from = reader.ReadInt32();
        int to = reader.ReadInt32();
        long term = reader.ReadInt64();
        QuorumMessage message;
        switch (kind)
        {
            case VoteRequestKind:
                message = new VoteRequest(from, to, term, reader.ReadInt64(), reader.ReadInt64());
                break;
            case VoteResponseKind:
                message = new VoteResponse(from, to, term, reader.ReadBool());
                break;
            case AppendRequestKind:
                long prevIndex = reader.ReadInt64();
                long prevTerm = reader.ReadInt64();
                long leaderCommit = reader.ReadInt64();
                int count = reader.ReadInt32();
                if (count < 0 || count > maxEntries)
                {
                    throw new MalformedMessageException($"Append request with {count} entries (at most {maxEntries})");
                }

                var entries = new QuorumEntry[count];
                for (int i = 0; i < count; i++)
                {
                    long entryTerm = reader.ReadInt64();
                    byte[] payload = reader.ReadBytes(compact: false);
                    if (payload.Length > maxPayloadBytes)
                    {
                        throw new MalformedMessageException($"Quorum entry of {payload.Length} bytes (at most {maxPayloadBytes})");
                    }

                    entries[i] = new QuorumEntry(entryTerm, payload);
                }

                message = new AppendRequest(from, to, term, prevIndex, prevTerm, leaderCommit, entries);
                break;
            case AppendResponseKind:
                message = new AppendResponse(from, to, term, reader.ReadBool(), reader.ReadInt64());
                break;
            case TimeoutNowKind:
                message = new TimeoutNowRequest(from, to, term);
                break;
            case InstallSnapshotKind:
                long lastIndex = reader.ReadInt64();
                long lastTerm = reader.ReadInt64();
                int total = reader.ReadInt32();
                int position = reader.ReadInt32();
                byte[] chunk = reader.ReadBytes(compact: false);
                if (total < 0 || position < 0 || chunk.Length > maxPayloadBytes || (long)position + chunk.Length > total)
                {
                    throw new MalformedMessageException($"Snapshot chunk of {chunk.Length} bytes at {position} of {total} (chunks at most {maxPayloadBytes})");
                }

                message = new InstallSnapshotRequest(from, to, term, lastIndex, lastTerm, total, position, chunk);
                break;
            case InstallSnapshotResponseKind:
                message = new InstallSnapshotResponse(from, to, term, reader.ReadInt64(), reader.ReadInt32());
                break;
            default:
                throw new MalformedMessageException($"Unknown quorum message kind {kind}");
        }

        reader.EnsureFullyConsumed("Quorum message");
        return message;
    }
}
