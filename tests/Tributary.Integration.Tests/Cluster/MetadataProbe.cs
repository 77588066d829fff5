using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Asks one particular broker for its view of a topic with a hand-framed Metadata v1 request. librdkafka picks any
/// broker it likes for metadata, which in a partition test may be the isolated one with its stale view.
/// </summary>
public static class MetadataProbe
{
    private const short MetadataApiKey = 3;
    private const short Version = 1;
    private const int MaxResponseBytes = 1 << 20;

    /// <summary>Partition states of <paramref name="topic"/> as broker <paramref name="host"/>:<paramref name="port"/> reports them; null if it does not answer in time.</summary>
    public static async Task<IReadOnlyDictionary<int, PartitionState>?> PartitionsAsync(string host, int port, string topic, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token);
            await socket.SendAsync(Request(topic), SocketFlags.None, deadline.Token);
            var sizeBytes = new byte[4];
            await ReceiveExactlyAsync(socket, sizeBytes, deadline.Token);
            var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
            if (size is < 4 or > MaxResponseBytes)
            {
                throw new InvalidDataException($"Metadata response size {size} out of bounds.");
            }

            var body = new byte[size];
            await ReceiveExactlyAsync(socket, body, deadline.Token);
            return Parse(body, topic);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private static byte[] Request(string topic)
    {
        var clientId = Encoding.UTF8.GetBytes("tributary-it-probe");
        var name = Encoding.UTF8.GetBytes(topic);
        var length = 2 + 2 + 4 + 2 + clientId.Length + 4 + 2 + name.Length;
        var frame = new byte[4 + length];
        var at = 0;
        void Int16(short v) { BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(at), v); at += 2; }
        void Int32(int v) { BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(at), v); at += 4; }
        void Bytes(byte[] b) { b.CopyTo(frame, at); at += b.Length; }
        Int32(length);
        Int16(MetadataApiKey);
        Int16(Version);
        Int32(1); // correlation id
        Int16((short)clientId.Length);
        Bytes(clientId);
        Int32(1); // one topic
        Int16((short)name.Length);
        Bytes(name);
        return frame;
    }

    private static Dictionary<int, PartitionState> Parse(byte[] body, string topic)
    {
        var reader = new Reader(body);
        reader.Int32(); // correlation id
        var brokers = reader.Count();
        for (var i = 0; i < brokers; i++)
        {
            reader.Int32();
            reader.String();
            reader.Int32();
            reader.String(); // rack, nullable
        }

        reader.Int32(); // controller id
        var result = new Dictionary<int, PartitionState>();
        var topics = reader.Count();
        for (var t = 0; t < topics; t++)
        {
            var topicError = reader.Int16();
            var name = reader.String();
            reader.Byte(); // is_internal
            var partitions = reader.Count();
            for (var p = 0; p < partitions; p++)
            {
                reader.Int16();
                var index = reader.Int32();
                var leader = reader.Int32();
                var replicas = reader.Int32Array();
                var isr = reader.Int32Array();
                if (name == topic && topicError == 0)
                {
                    result[index] = new PartitionState(leader, replicas, isr);
                }
            }
        }

        return result;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellation)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellation);
            if (n == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            read += n;
        }
    }

    /// <summary>Big-endian reads with every count and length bounded by what is left of the body.</summary>
    private sealed class Reader(byte[] body)
    {
        private int at;

        public byte Byte() => body[Advance(1)];

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(Advance(2)));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(Advance(4)));

        public int Count()
        {
            var count = Int32();
            return count < 0 ? 0 : count <= body.Length - at ? count : throw new InvalidDataException($"Array count {count} exceeds the response.");
        }

        public string? String()
        {
            var length = Int16();
            return length < 0 ? null : Encoding.UTF8.GetString(body, Advance(length), length);
        }

        public int[] Int32Array()
        {
            var values = new int[Count()];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Int32();
            }

            return values;
        }

        private int Advance(int bytes)
        {
            if (bytes > body.Length - at)
            {
                throw new InvalidDataException("Metadata response ends early.");
            }

            var start = at;
            at += bytes;
            return start;
        }
    }
}
