using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace Tributary.Protocol.Records.Compression;

/// <summary>What a bounded decompression produced.</summary>
public enum DecompressionStatus
{
    Ok,

    /// <summary>The codec id is not one Kafka defines; the batch must be kept as it is.</summary>
    Unsupported,

    /// <summary>The decompressed records would exceed the caller's bound (a zip bomb or a corrupt stream).</summary>
    TooLarge,

    /// <summary>The compressed stream is malformed.</summary>
    Corrupt,
}

/// <summary>How a codec's output is framed, where Kafka clients differ; kept when a batch is rewritten.</summary>
public enum CompressionFraming
{
    /// <summary>What Kafka's Java clients and brokers write: gzip members, LZ4 frames, zstd frames, xerial-framed snappy.</summary>
    Standard,

    /// <summary>A single raw snappy block, as librdkafka writes (every client reads both).</summary>
    SnappyRaw,
}

/// <summary>
/// Compresses and decompresses the records section of a record batch v2 (everything after the 61-byte header) with the batch's
/// codec, as Kafka frames them: gzip is RFC 1952; lz4 is the LZ4 frame format (independent 64 KiB blocks, as Kafka's
/// KafkaLZ4BlockOutputStream writes); zstd is a zstd frame; snappy is xerial-framed (Kafka's Java side uses SnappyOutputStream
/// for every message format, magic 2 included) or a raw snappy block (librdkafka) — both are read, and
/// <see cref="DetectFraming"/> lets a rewrite keep the producer's choice.
/// </summary>
public static class RecordCompression
{
    /// <summary>Kafka's default zstd level (compression.zstd.level).</summary>
    private const int ZstdLevel = 3;

    /// <summary>SnappyOutputStream's default block size: input is compressed in chunks of this many bytes.</summary>
    private const int XerialBlockSize = 32 * 1024;

    private const int ChunkSize = 16 * 1024;

    // xerial snappy-java stream header: magic, then version and minimum compatible version (int32 big-endian, both 1).
    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];
    private const int XerialHeaderSize = 16;

    // Kafka's LZ4 writer uses independent 64 KiB blocks and no content checksum; a new object per call (the settings type is mutable).
    private static LZ4EncoderSettings Lz4Settings() => new()
    {
        ChainBlocks = false,
        BlockSize = 64 * 1024,
        ContentChecksum = false,
        BlockChecksum = false,
        CompressionLevel = LZ4Level.L00_FAST,
    };

    /// <summary>True when <paramref name="codec"/> can be both decompressed and compressed.</summary>
    public static bool IsSupported(CompressionType codec) => codec <= CompressionType.Zstd;

    /// <summary>The framing of a compressed records section, to write a rewritten batch the same way.</summary>
    public static CompressionFraming DetectFraming(CompressionType codec, ReadOnlySpan<byte> compressed) =>
        codec == CompressionType.Snappy && !compressed.StartsWith(XerialMagic) ? CompressionFraming.SnappyRaw : CompressionFraming.Standard;

    /// <summary>Decompresses <paramref name="compressed"/> into <paramref name="destination"/>, writing at most <paramref name="maxBytes"/>.</summary>
    public static DecompressionStatus Decompress(CompressionType codec, ReadOnlySpan<byte> compressed, ArrayBufferWriter<byte> destination,
        int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            switch (codec)
            {
                case CompressionType.None:
                    if (compressed.Length > maxBytes)
                    {
                        return DecompressionStatus.TooLarge;
                    }

                    destination.Write(compressed);
                    return DecompressionStatus.Ok;
                case CompressionType.Gzip:
                    return DecompressStream(compressed, source => new GZipStream(source, CompressionMode.Decompress), destination, maxBytes);
                case CompressionType.Snappy:
                    return compressed.StartsWith(XerialMagic)
                        ? DecompressXerialSnappy(compressed, destination, maxBytes)
                        : DecompressRawSnappy(compressed, destination, ref maxBytes);
                case CompressionType.Lz4:
                    return DecompressStream(compressed, source => LZ4Stream.Decode(source), destination, maxBytes);
                case CompressionType.Zstd:
                    return DecompressStream(compressed, source => new DecompressionStream(source), destination, maxBytes);
                default:
                    return DecompressionStatus.Unsupported;
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or ZstdException or ArgumentException or InvalidOperationException
                                              or IOException)
        {
            // Every decoder reports malformed input with one of these; the data came from a producer, so it is not our bug.
            return DecompressionStatus.Corrupt;
        }
    }

    /// <summary>Compresses <paramref name="records"/> with <paramref name="codec"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="NotSupportedException">the codec id is not one Kafka defines.</exception>
    public static void Compress(CompressionType codec, ReadOnlySpan<byte> records, ArrayBufferWriter<byte> destination,
        CompressionFraming framing = CompressionFraming.Standard)
    {
        ArgumentNullException.ThrowIfNull(destination);
        switch (codec)
        {
            case CompressionType.None:
                destination.Write(records);
                break;
            case CompressionType.Gzip:
                using (var output = new BufferWriterStream(destination))
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(records);
                }

                break;
            case CompressionType.Snappy:
                if (framing == CompressionFraming.SnappyRaw)
                {
                    CompressRawSnappy(records, destination);
                }
                else
                {
                    CompressXerialSnappy(records, destination);
                }

                break;
            case CompressionType.Lz4:
                LZ4Frame.Encode(records, destination, Lz4Settings());
                break;
            case CompressionType.Zstd:
                using (var compressor = new Compressor(ZstdLevel))
                {
                    Span<byte> target = destination.GetSpan(Compressor.GetCompressBound(records.Length));
                    destination.Advance(compressor.Wrap(records, target));
                }

                break;
            default:
                throw new NotSupportedException($"Compression codec {codec} is not defined by Kafka.");
        }
    }

    private static DecompressionStatus DecompressStream(ReadOnlySpan<byte> compressed, Func<Stream, Stream> decoder,
        ArrayBufferWriter<byte> destination, int maxBytes)
    {
        byte[] input = ArrayPool<byte>.Shared.Rent(compressed.Length);
        try
        {
            compressed.CopyTo(input);
            using var source = new MemoryStream(input, 0, compressed.Length, writable: false);
            using Stream decoded = decoder(source);
            int total = 0;
            while (true)
            {
                // Never ask for more than one byte past the bound, so the bound holds exactly.
                int want = Math.Min(ChunkSize, maxBytes - total + 1);
                int read = decoded.Read(destination.GetSpan(want)[..want]);
                if (read == 0)
                {
                    return DecompressionStatus.Ok;
                }

                total += read;
                if (total > maxBytes)
                {
                    return DecompressionStatus.TooLarge;
                }

                destination.Advance(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private static DecompressionStatus DecompressRawSnappy(ReadOnlySpan<byte> compressed, ArrayBufferWriter<byte> destination, ref int budget)
    {
        int length = Snappier.Snappy.GetUncompressedLength(compressed);
        if (length < 0)
        {
            return DecompressionStatus.Corrupt;
        }

        if (length > budget)
        {
            return DecompressionStatus.TooLarge;
        }

        if (!Snappier.Snappy.TryDecompress(compressed, destination.GetSpan(Math.Max(1, length))[..length], out int written) || written != length)
        {
            return DecompressionStatus.Corrupt;
        }

        destination.Advance(written);
        budget -= written;
        return DecompressionStatus.Ok;
    }

    private static DecompressionStatus DecompressXerialSnappy(ReadOnlySpan<byte> compressed, ArrayBufferWriter<byte> destination, int maxBytes)
    {
        if (compressed.Length < XerialHeaderSize)
        {
            return DecompressionStatus.Corrupt;
        }

        int position = XerialHeaderSize;
        int budget = maxBytes;
        while (position < compressed.Length)
        {
            if (compressed.Length - position < 4)
            {
                return DecompressionStatus.Corrupt;
            }

            int chunkLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(compressed[position..]);
            position += 4;
            if (chunkLength < 0 || chunkLength > compressed.Length - position)
            {
                return DecompressionStatus.Corrupt;
            }

            DecompressionStatus status = DecompressRawSnappy(compressed.Slice(position, chunkLength), destination, ref budget);
            if (status != DecompressionStatus.Ok)
            {
                return status;
            }

            position += chunkLength;
        }

        return DecompressionStatus.Ok;
    }

    private static void CompressRawSnappy(ReadOnlySpan<byte> records, ArrayBufferWriter<byte> destination)
    {
        Span<byte> target = destination.GetSpan(Snappier.Snappy.GetMaxCompressedLength(records.Length));
        destination.Advance(Snappier.Snappy.Compress(records, target));
    }

    private static void CompressXerialSnappy(ReadOnlySpan<byte> records, ArrayBufferWriter<byte> destination)
    {
        Span<byte> header = destination.GetSpan(XerialHeaderSize)[..XerialHeaderSize];
        XerialMagic.CopyTo(header);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[8..], 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header[12..], 1);
        destination.Advance(XerialHeaderSize);
        for (int offset = 0; offset < records.Length; offset += XerialBlockSize)
        {
            ReadOnlySpan<byte> block = records.Slice(offset, Math.Min(XerialBlockSize, records.Length - offset));
            Span<byte> target = destination.GetSpan(4 + Snappier.Snappy.GetMaxCompressedLength(block.Length));
            int written = Snappier.Snappy.Compress(block, target[4..]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(target, written);
            destination.Advance(4 + written);
        }
    }

    /// <summary>A write-only stream appending to a buffer writer, so codecs with stream APIs write without an extra copy.</summary>
    private sealed class BufferWriterStream(ArrayBufferWriter<byte> destination) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => destination.WrittenCount;

        public override long Position
        {
            get => destination.WrittenCount;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => destination.Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => destination.Write(buffer);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
