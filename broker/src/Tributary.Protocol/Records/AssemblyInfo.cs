using System.Runtime.CompilerServices;

// The record codec tests exercise the software CRC fallback and the varint helpers directly.
[assembly: InternalsVisibleTo("Tributary.Protocol.Tests")]
