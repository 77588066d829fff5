using System.Buffers;
using System.Runtime.InteropServices;

namespace Tributary.Protocol;

/// <summary>
/// Bytes that live elsewhere (a region of a log segment file) until a response is written: <see cref="KafkaWriter.WriteRecords"/>
/// recognises memory backed by this manager and calls <see cref="WriteTo"/>, which copies the bytes straight from their source
/// into the output, with no intermediate array. Anything else that touches the memory (<see cref="GetSpan"/>, pinning) gets the
/// bytes materialized once into an array of exactly this length, so code that does not know about deferral still sees the
/// right bytes.
/// </summary>
public abstract class DeferredBytes : MemoryManager<byte>
{
    private byte[]? _materialized;

    protected DeferredBytes(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <summary>Bytes this region holds.</summary>
    public int Length { get; }

    /// <summary>Whether the bytes were already copied into memory (then <see cref="WriteTo"/> copies from there).</summary>
    public bool IsMaterialized => _materialized is not null;

    /// <summary>Memory of <see cref="Length"/> bytes backed by this region.</summary>
    public ReadOnlyMemory<byte> AsMemory() => CreateMemory(Length);

    /// <summary>
    /// Writes all <see cref="Length"/> bytes into <paramref name="output"/>. Throws <see cref="IOException"/> when the source no longer
    /// holds them (the region was truncated or deleted since it was described): the caller must then abandon what it was writing.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_materialized is { } bytes)
        {
            bytes.CopyTo(output.GetSpan(bytes.Length));
            output.Advance(bytes.Length);
            return;
        }

        int written = 0;
        while (written < Length)
        {
            Span<byte> destination = output.GetSpan(Math.Min(Length - written, MaxChunk));
            int chunk = Math.Min(destination.Length, Length - written);
            ReadExactly(written, destination[..chunk]);
            output.Advance(chunk);
            written += chunk;
        }
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/> bytes into the region; throws <see cref="IOException"/> if they are gone.</summary>
    protected abstract void ReadExactly(int offset, Span<byte> destination);

    public override Span<byte> GetSpan() => Materialize();

    /// <summary>The bytes, read now into an array of their own (once; later calls return the same array).</summary>
    public byte[] Materialize()
    {
        if (_materialized is null)
        {
            byte[] bytes = GC.AllocateUninitializedArray<byte>(Length);
            ReadExactly(0, bytes);
            _materialized = bytes;
        }

        return _materialized;
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        Materialize();
        GCHandle handle = GCHandle.Alloc(_materialized, GCHandleType.Pinned);
        unsafe
        {
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
        }
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }

    /// <summary>Largest single read into the output (bounds the span asked of the output at once).</summary>
    private const int MaxChunk = 1024 * 1024;
}
