using System.Buffers;
using System.IO.Compression;

namespace Tributary.Protocol.Records.Compression;

/// <summary>What a bounded decompression produced.</summary>
public enum DecompressionStatus
{
    Ok,

    /// <summary>The codec has no implementation in this build; the batch must be kept as it is.</summary>
    Unsupported,

    /// <summary>The decompressed records would exceed the caller's bound (a zip bomb or a corrupt stream).</summary>
    TooLarge,

    /// <summary>The compressed stream is malformed.</summary>
    Corrupt,
}

/// <summary>
/// Compresses and decompresses the records section of a record batch v2 (everything after the 61-byte header) with the batch's
/// codec. Kafka's framings: gzip is RFC 1952, snappy is raw snappy for magic 2 (xerial framing only for magic 0/1), lz4 is the
/// LZ4 frame format, zstd is a zstd frame.
/// </summary>
/// <remarks>
/// Only gzip ships with the runtime; snappy, lz4 and zstd need their NuGet packages (see /work/briefs/requests.txt) and report
/// <see cref="DecompressionStatus.Unsupported"/> until they are referenced. Callers such as the log cleaner then keep such
/// batches byte for byte, which is always correct (it only compacts less).
/// </remarks>
public static class RecordCompression
{
    /// <summary>True when <paramref name="codec"/> can be both decompressed and compressed in this build.</summary>
    public static bool IsSupported(CompressionType codec) => codec is CompressionType.None or CompressionType.Gzip;

    /// <summary>Decompresses <paramref name="compressed"/> into <paramref name="destination"/>, writing at most <paramref name="maxBytes"/>.</summary>
    public static DecompressionStatus Decompress(CompressionType codec, ReadOnlySpan<byte> compressed, ArrayBufferWriter<byte> destination,
        int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
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
                return DecompressGzip(compressed, destination, maxBytes);
            default:
                return DecompressionStatus.Unsupported;
        }
    }

    /// <summary>Compresses <paramref name="records"/> with <paramref name="codec"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="NotSupportedException">the codec is not <see cref="IsSupported">supported</see> in this build.</exception>
    public static void Compress(CompressionType codec, ReadOnlySpan<byte> records, ArrayBufferWriter<byte> destination)
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
            default:
                throw new NotSupportedException($"Compression codec {codec} is not available in this build.");
        }
    }

    private static DecompressionStatus DecompressGzip(ReadOnlySpan<byte> compressed, ArrayBufferWriter<byte> destination, int maxBytes)
    {
        byte[] input = ArrayPool<byte>.Shared.Rent(compressed.Length);
        try
        {
            compressed.CopyTo(input);
            using var source = new MemoryStream(input, 0, compressed.Length, writable: false);
            using var gzip = new GZipStream(source, CompressionMode.Decompress);
            int total = 0;
            while (true)
            {
                Span<byte> chunk = destination.GetSpan(16 * 1024);
                int read = gzip.Read(chunk);
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
        catch (InvalidDataException)
        {
            return DecompressionStatus.Corrupt;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
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
