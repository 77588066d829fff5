using System.Buffers;
using System.Buffers.Binary;
using Tributary.Protocol;
using Tributary.Raft.Log;

namespace Tributary.Raft.Transport;

/// <summary>A request or response on a client connection: any node (voter or observer) to one voter, on the voter's
/// quorum port, answered on the same socket and matched by <see cref="CorrelationId"/>.</summary>
/// <remarks>Client frames use kind bytes 16 and up, voter-to-voter messages 1 to 5, so one listener serves both.</remarks>
internal abstract record ClientFrame(int CorrelationId);

/// <summary>An opaque request for the active controller (the broker owns the encoding).</summary>
internal sealed record ControllerCallRequest(int CorrelationId, int CallerId, byte[] Payload) : ClientFrame(CorrelationId);

internal enum ControllerCallStatus : sbyte
{
    Ok = 0,

    /// <summary>The receiving voter is not the active controller (or has no handler yet); see the leader id.</summary>
    NotController = 1,

    /// <summary>The controller's handler threw or answered beyond the size bound.</summary>
    HandlerFailed = 2,
}

internal sealed record ControllerCallResponse(int CorrelationId, ControllerCallStatus Status, int LeaderId, byte[] Payload)
    : ClientFrame(CorrelationId);

/// <summary>An observer's long poll for committed entries from <see cref="FromOffset"/>, answered after at most
/// <see cref="MaxWaitMs"/> even when nothing new committed.</summary>
internal sealed record FetchCommittedRequest(int CorrelationId, int CallerId, long FromOffset, int MaxEntries, int MaxBytes, int MaxWaitMs)
    : ClientFrame(CorrelationId);

/// <summary>The voter's view of the leadership and, from the leader only, committed entries from the requested offset;
/// or, when that offset lies below the leader's log start, the snapshot to fetch first (<see cref="SnapshotLastIndex"/>
/// ≥ 1, KRaft's SnapshotId in a Fetch response).</summary>
internal sealed record FetchCommittedResponse(int CorrelationId, int LeaderId, long Epoch, IReadOnlyList<QuorumEntry> Entries,
    long SnapshotLastIndex = -1, long SnapshotLastTerm = -1)
    : ClientFrame(CorrelationId);

/// <summary>FetchSnapshot: a chunk of the snapshot through <see cref="LastIndex"/> from <see cref="Position"/> on.</summary>
internal sealed record FetchSnapshotRequest(int CorrelationId, int CallerId, long LastIndex, long LastTerm, int Position, int MaxBytes)
    : ClientFrame(CorrelationId);

/// <summary>A chunk of the snapshot, or <see cref="Found"/> false when the voter no longer holds it (start over).</summary>
internal sealed record FetchSnapshotResponse(int CorrelationId, bool Found, long LastIndex, long LastTerm, int TotalBytes, int Position,
    byte[] Chunk) : ClientFrame(CorrelationId);

/// <summary>Frames client frames as <c>int32 size, int8 kind, int32 correlationId, fields…</c>.</summary>
internal static class ClientFrameCodec
{
    public const sbyte ControllerCallRequestKind = 16;
    public const sbyte ControllerCallResponseKind = 17;
    public const sbyte FetchCommittedRequestKind = 18;
    public const sbyte FetchCommittedResponseKind = 19;
    public const sbyte FetchSnapshotRequestKind = 20;
    public const sbyte FetchSnapshotResponseKind = 21;

    /// <summary>Bytes a frame carries besides its payload or entries (kind, ids, offsets, counts); generous.</summary>
    public const int OverheadBytes = 64;

    public static bool IsRequestKind(sbyte kind) => kind is ControllerCallRequestKind or FetchCommittedRequestKind or FetchSnapshotRequestKind;

    /// <summary>The whole frame, size prefix included.</summary>
    public static byte[] Encode(ClientFrame frame)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0); // size, patched below
        writer.WriteInt8(frame switch
        {
            ControllerCallRequest => ControllerCallRequestKind,
            ControllerCallResponse => ControllerCallResponseKind,
            FetchCommittedRequest => FetchCommittedRequestKind,
            FetchCommittedResponse => FetchCommittedResponseKind,
            FetchSnapshotRequest => FetchSnapshotRequestKind,
            FetchSnapshotResponse => FetchSnapshotResponseKind,
            _ => throw new ArgumentException($"Unknown client frame {frame.GetType().Name}", nameof(frame)),
        });
        writer.WriteInt32(frame.CorrelationId);
        switch (frame)
        {
            case ControllerCallRequest f:
                writer.WriteInt32(f.CallerId);
                writer.WriteBytes(f.Payload, compact: false);
                break;
            case ControllerCallResponse f:
                writer.WriteInt8((sbyte)f.Status);
                writer.WriteInt32(f.LeaderId);
                writer.WriteBytes(f.Payload, compact: false);
                break;
            case FetchCommittedRequest f:
                writer.WriteInt32(f.CallerId);
                writer.WriteInt64(f.FromOffset);
                writer.WriteInt32(f.MaxEntries);
                writer.WriteInt32(f.MaxBytes);
                writer.WriteInt32(f.MaxWaitMs);
                break;
            case FetchCommittedResponse f:
                writer.WriteInt32(f.LeaderId);
                writer.WriteInt64(f.Epoch);
                writer.WriteInt32(f.Entries.Count);
                foreach (var entry in f.Entries)
                {
                    writer.WriteInt64(entry.Term);
                    writer.WriteBytes(entry.Payload, compact: false);
                }

                writer.WriteInt64(f.SnapshotLastIndex);
                writer.WriteInt64(f.SnapshotLastTerm);
                break;
            case FetchSnapshotRequest f:
                writer.WriteInt32(f.CallerId);
                writer.WriteInt64(f.LastIndex);
                writer.WriteInt64(f.LastTerm);
                writer.WriteInt32(f.Position);
                writer.WriteInt32(f.MaxBytes);
                break;
            case FetchSnapshotResponse f:
                writer.WriteBool(f.Found);
                writer.WriteInt64(f.LastIndex);
                writer.WriteInt64(f.LastTerm);
                writer.WriteInt32(f.TotalBytes);
                writer.WriteInt32(f.Position);
                writer.WriteBytes(f.Chunk, compact: false);
                break;
        }

        byte[] bytes = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    /// <summary>Decodes one frame body (kind byte first, no size prefix).</summary>
    /// <exception cref="MalformedMessageException">Truncated, of an unknown kind, or beyond the bounds.</exception>
    public static ClientFrame Decode(ReadOnlyMemory<byte> body, int maxEntries, int maxPayloadBytes)
    {
        var reader = new KafkaReader(body);
        sbyte kind = reader.ReadInt8();
        int correlationId = reader.ReadInt32();
        ClientFrame frame;
        switch (kind)
        {
            case ControllerCallRequestKind:
                frame = new ControllerCallRequest(correlationId, reader.ReadInt32(), reader.ReadBytes(compact: false));
                break;
            case ControllerCallResponseKind:
                sbyte status = reader.ReadInt8();
                if (status is < 0 or > (sbyte)ControllerCallStatus.HandlerFailed)
                {
                    throw new MalformedMessageException($"Controller call status {status}");
                }

                frame = new ControllerCallResponse(correlationId, (ControllerCallStatus)status, reader.ReadInt32(), reader.ReadBytes(compact: false));
                break;
            case FetchCommittedRequestKind:
                frame = new FetchCommittedRequest(correlationId, reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt32(),
                    reader.ReadInt32(), reader.ReadInt32());
                break;
            case FetchCommittedResponseKind:
                int leaderId = reader.ReadInt32();
                long epoch = reader.ReadInt64();
                int count = reader.ReadInt32();
                if (count < 0 || count > maxEntries)
                {
                    throw new MalformedMessageException($"Fetch response with {count} entries (at most {maxEntries})");
                }

                var entries = new QuorumEntry[count];
                for (int i = 0; i < count; i++)
                {
                    long term = reader.ReadInt64();
                    byte[] payload = reader.ReadBytes(compact: false);
                    if (payload.Length > maxPayloadBytes)
                    {
                        throw new MalformedMessageException($"Quorum entry of {payload.Length} bytes (at most {maxPayloadBytes})");
                    }

                    entries[i] = new QuorumEntry(term, payload);
                }

                frame = new FetchCommittedResponse(correlationId, leaderId, epoch, entries, reader.ReadInt64(), reader.ReadInt64());
                break;
            case FetchSnapshotRequestKind:
                frame = new FetchSnapshotRequest(correlationId, reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt32(),
                    reader.ReadInt32());
                break;
            case FetchSnapshotResponseKind:
                bool found = reader.ReadBool();
                long lastIndex = reader.ReadInt64();
                long lastTerm = reader.ReadInt64();
                int total = reader.ReadInt32();
                int position = reader.ReadInt32();
                byte[] chunk = reader.ReadBytes(compact: false);
                if (total < 0 || position < 0 || chunk.Length > maxPayloadBytes || (long)position + chunk.Length > total)
                {
                    throw new MalformedMessageException($"Snapshot chunk of {chunk.Length} bytes at {position} of {total} (chunks at most {maxPayloadBytes})");
                }

                frame = new FetchSnapshotResponse(correlationId, found, lastIndex, lastTerm, total, position, chunk);
                break;
            default:
                throw new MalformedMessageException($"Unknown client frame kind {kind}");
        }

        reader.EnsureFullyConsumed("Client frame");
        return frame;
    }
}
