using Microsoft.Win32.SafeHandles;
using Tributary.Protocol;

namespace Tributary.Storage;

/// <summary>
/// Whole batches of a segment file, described by position and length and read only when a response is written (straight into
/// the connection's output) or when someone asks for the bytes. The file is append-only below the published size except for
/// truncation and deletion; if either took the bytes away meanwhile, reading throws <see cref="IOException"/> and the response
/// that needed them is abandoned (its connection closes; the client fetches again).
/// </summary>
internal sealed class SegmentFileRegion(SafeFileHandle file, string path, long position, int length) : DeferredBytes(length)
{
    protected override void ReadExactly(int offset, Span<byte> destination)
    {
        int read;
        try
        {
            read = SegmentFileReader.ReadFully(file, destination, position + offset);
        }
        catch (ObjectDisposedException)
        {
            throw new IOException($"Segment {path} was closed before {Length} bytes at position {position} were sent.");
        }

        if (read != destination.Length)
        {
            throw new IOException($"Segment {path} was truncated below position {position + offset + destination.Length} before it was sent.");
        }
    }
}
