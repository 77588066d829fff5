using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.Reflection;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.Protocol.Records;

namespace Tributary.Integration.Tests.Fuzz;

/// <summary>One request frame the fuzzer made: the bytes on the wire (size prefix included) and what it started from.</summary>
public sealed record FuzzFrame(short ApiKey, short ApiVersion, string Mutation, byte[] Bytes);

/// <summary>
/// Makes request frames for every API and version the broker serves (the list comes from the generated
/// <see cref="ApiCatalog"/>, so it follows the definitions): a generated request object filled with values Kafka clients
/// would never send together (counts of 0, −1, 2³¹−1, 100,000 partitions, long names, nested lists), serialized by the
/// generated writer, then often mutated at the byte level (bit flips, a 32-bit field overwritten with an extreme value,
/// truncation, trailing junk, a header with a wrong version or key). Seeded: the same seed gives the same frames.
/// </summary>
public sealed class RequestFuzzer
{
    private static readonly int[] InterestingInts = [0, -1, 1, 2, 3, 7, 100, 1_000, 10_000, 10_001, 100_000, 1_000_000, int.MaxValue, int.MinValue, short.MaxValue];
    private static readonly long[] InterestingLongs = [0, -1, -2, 1, 100, long.MaxValue, long.MinValue, int.MaxValue];
    private static readonly short[] InterestingShorts = [0, -1, 1, 2, 3, short.MaxValue, short.MinValue];

    private readonly Random _random;
    private readonly IReadOnlyList<(ApiDescriptor Api, Type Type)> _apis;
    private readonly string[] _names;
    private readonly int _seed;
    private int _correlationId;
    private int _uniqueNames;

    /// <param name="seed">Fixes every choice the fuzzer makes.</param>
    /// <param name="onlyApiKey">Restricts the frames to one API (e.g. CreateTopics); null for all of them.</param>
    /// <param name="nameCount">Distinct topic/group names drawn from (a few collide with each other on purpose).</param>
    public RequestFuzzer(int seed, short? onlyApiKey = null, int nameCount = 40)
    {
        _random = new Random(seed);
        _seed = seed;
        _apis = ServedRequests().Where(a => onlyApiKey is null || a.Api.ApiKey == onlyApiKey).ToList();
        if (_apis.Count == 0)
        {
            throw new ArgumentException($"No served request type has api key {onlyApiKey}.", nameof(onlyApiKey));
        }

        _names = Enumerable.Range(0, nameCount).Select(i => $"fuzz-{seed % 1000}-{i}").ToArray();
    }

    /// <summary>Every request type the broker serves, with its advertised version range.</summary>
    public static IReadOnlyList<(ApiDescriptor Api, Type Type)> ServedRequests()
    {
        var byKey = typeof(ApiCatalog).Assembly.GetTypes()
            .Where(t => t.IsClass && typeof(IRequestMessage).IsAssignableFrom(t) && t.GetField("ApiKey") is not null)
            .ToDictionary(t => (short)t.GetField("ApiKey")!.GetValue(null)!);
        return ApiCatalog.All.Select(a => (a, byKey[a.ApiKey])).ToList();
    }

    /// <summary>The next frame.</summary>
    public FuzzFrame Next()
    {
        var (api, type) = _apis[_random.Next(_apis.Count)];
        var version = (short)_random.Next(api.LowestVersion, api.HighestVersion + 1);
        var body = StructuredBody(type, version, out var mutation);
        var header = Header(api.ApiKey, version);
        var frame = Join(header, body);
        return _random.Next(10) switch
        {
            < 4 => new FuzzFrame(api.ApiKey, version, mutation, frame),
            _ => Mutate(api, version, mutation, frame),
        };
    }

    /// <summary>A well-formed frame of <paramref name="request"/> (size prefix, header, body).</summary>
    public static byte[] Frame(IRequestMessage request, short version, int correlationId = 1)
    {
        var header = new ArrayBufferWriter<byte>();
        new RequestHeader(request.ApiKeyValue, version, correlationId, "tributary-fuzz")
            .Write(new KafkaWriter(header), HeaderVersions.RequestHeaderIsFlexible(request.ApiKeyValue, version));
        var body = new ArrayBufferWriter<byte>();
        request.Write(new KafkaWriter(body), version);
        return Join(header.WrittenSpan.ToArray(), body.WrittenSpan.ToArray());
    }

    private static byte[] Join(byte[] header, byte[] body)
    {
        var frame = new byte[4 + header.Length + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, header.Length + body.Length);
        header.CopyTo(frame, 4);
        body.CopyTo(frame, 4 + header.Length);
        return frame;
    }

    private byte[] Header(short apiKey, short version)
    {
        var header = new ArrayBufferWriter<byte>();
        new RequestHeader(apiKey, version, ++_correlationId, _random.Next(20) == 0 ? null : "tributary-fuzz")
            .Write(new KafkaWriter(header), HeaderVersions.RequestHeaderIsFlexible(apiKey, version));
        return header.WrittenSpan.ToArray();
    }

    /// <summary>A filled-in request serialized by its generated writer; falls back to the defaults when the values cannot
    /// be written in this version (the writer refuses, e.g., a null where the version has no nullable field).</summary>
    private byte[] StructuredBody(Type type, short version, out string mutation)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            // Mostly a plausible request with one or two fields set to extremes (what a broken or hostile client
            // sends); otherwise every field drawn at random.
            var plausible = _random.Next(4) != 0;
            var request = (IRequestMessage)(plausible ? Plausible(type, depth: 0) : Fill(type, depth: 0));
            var changed = plausible ? MutateLeaves(request) : "every field random";
            var body = new ArrayBufferWriter<byte>();
            try
            {
                request.Write(new KafkaWriter(body), version);
                mutation = "structured: " + changed;
                return body.WrittenSpan.ToArray();
            }
            catch (Exception e) when (e is InvalidOperationException or UnsupportedVersionException or ArgumentException or OverflowException)
            {
                // Try other values.
            }
        }

        // No filling the generated writer accepts in this version (rare): an empty body, which the broker must refuse.
        mutation = "empty body";
        return [];
    }

    /// <summary>A request a well-behaved client could send: names from the pool, small counts, one element per list
    /// (none for manual assignments and configs), short timeouts.</summary>
    private object Plausible(Type type, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && property.CanRead)
            {
                property.SetValue(instance, PlausibleValue(property.PropertyType, property.Name, depth));
            }
        }

        return instance;
    }

    private object? PlausibleValue(Type type, string name, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        var t = underlying ?? type;
        bool Named(string part) => name.Contains(part, StringComparison.Ordinal);
        if (t == typeof(int))
        {
            return Named("Timeout") || Named("Wait") ? _random.Next(50, 500)
                : Named("Epoch") || Named("GenerationId") ? -1
                : Named("NumPartitions") || Named("Count") ? _random.Next(1, 4)
                : Named("MaxBytes") ? 1_048_576
                : _random.Next(0, 3);
        }

        if (t == typeof(short))
        {
            return Named("ReplicationFactor") ? (short)(_random.Next(2) == 0 ? -1 : 1) : Named("Acks") ? (short)_random.Next(-1, 2) : (short)1;
        }

        if (t == typeof(long))
        {
            return Named("ProducerId") ? -1L : 0L;
        }

        if (t == typeof(sbyte))
        {
            return (sbyte)0;
        }

        if (t == typeof(bool))
        {
            return false;
        }

        if (t == typeof(string))
        {
            return Named("ProtocolType") ? "consumer" : _random.Next(3) == 0 ? $"fuzz-{_seed}-u{++_uniqueNames}" : _names[_random.Next(_names.Length)];
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(t)!;
            if (depth < 3 && !Named("Assignment") && !Named("Config"))
            {
                list.Add(PlausibleValue(t.GetGenericArguments()[0], name, depth + 1));
            }

            return list;
        }

        if (t.IsClass && t != typeof(byte[]) && t.GetConstructor(Type.EmptyTypes) is not null && depth < 4)
        {
            return Plausible(t, depth + 1);
        }

        return Value(type, name, depth);
    }

    /// <summary>Sets one or two fields anywhere in the request to extreme values, or blows a list up to many copies.</summary>
    private string MutateLeaves(object request)
    {
        var leaves = new List<(object Owner, PropertyInfo Property)>();
        CollectLeaves(request, leaves, 0);
        if (leaves.Count == 0)
        {
            return "no fields";
        }

        var changed = new List<string>();
        for (var n = _random.Next(1, 3); n > 0; n--)
        {
            var (owner, property) = leaves[_random.Next(leaves.Count)];
            if (property.GetValue(owner) is IList { IsFixedSize: false, Count: > 0 } list && _random.Next(2) == 0)
            {
                var copies = _random.Next(10, 200);
                for (var i = 0; i < copies; i++)
                {
                    list.Add(list[0]);
                }

                changed.Add($"{property.Name} x{copies + 1}");
                continue;
            }

            var value = Value(property.PropertyType, property.Name, depth: 2);
            property.SetValue(owner, value);
            changed.Add($"{property.Name}={Describe(value)}");
        }

        return string.Join(", ", changed);
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string text => text.Length > 20 ? $"<{text.Length} chars>" : text,
        IList list => $"<{list.Count} items>",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "?",
    };

    private static void CollectLeaves(object owner, List<(object, PropertyInfo)> leaves, int depth)
    {
        foreach (var property in owner.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || !property.CanRead || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            leaves.Add((owner, property));
            var value = property.GetValue(owner);
            if (depth < 4 && value is IList list)
            {
                foreach (var element in list)
                {
                    if (element is not null && element.GetType().IsClass && element is not string)
                    {
                        CollectLeaves(element, leaves, depth + 1);
                    }
                }
            }
            else if (depth < 4 && value is not null && value.GetType().IsClass && value is not string && value is not byte[]
                     && value.GetType().Namespace == typeof(ApiCatalog).Namespace)
            {
                CollectLeaves(value, leaves, depth + 1);
            }
        }
    }

    private object Fill(Type type, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || !property.CanRead || _random.Next(4) == 0)
            {
                continue; // keep the default
            }

            property.SetValue(instance, Value(property.PropertyType, property.Name, depth));
        }

        return instance;
    }

    private object? Value(Type type, string name, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            return _random.Next(8) == 0 ? null : Value(underlying, name, depth);
        }

        if (type == typeof(int))
        {
            return _random.Next(3) == 0 ? _random.Next(-5, 50) : InterestingInts[_random.Next(InterestingInts.Length)];
        }

        if (type == typeof(short))
        {
            return _random.Next(3) == 0 ? (short)_random.Next(-2, 5) : InterestingShorts[_random.Next(InterestingShorts.Length)];
        }

        if (type == typeof(long))
        {
            return _random.Next(3) == 0 ? (long)_random.Next(-2, 1000) : InterestingLongs[_random.Next(InterestingLongs.Length)];
        }

        if (type == typeof(sbyte))
        {
            return (sbyte)_random.Next(-2, 4);
        }

        if (type == typeof(bool))
        {
            return _random.Next(2) == 0;
        }

        if (type == typeof(double))
        {
            return _random.Next(3) switch { 0 => double.NaN, 1 => -1.0, _ => _random.NextDouble() * 1e6 };
        }

        if (type == typeof(ushort))
        {
            return (ushort)_random.Next(0, ushort.MaxValue + 1);
        }

        if (type == typeof(uint))
        {
            return (uint)_random.Next();
        }

        if (type == typeof(string))
        {
            return _random.Next(12) switch
            {
                0 => "",
                1 => new string('x', _random.Next(200, 400)),
                2 => "__consumer_offsets",
                3 => "fuzz." + _random.Next(5),
                4 => "fuzz_" + _random.Next(5),
                5 when name.Contains("Config", StringComparison.Ordinal) || name == "Name" => ConfigNames[_random.Next(ConfigNames.Length)],
                6 or 7 => $"fuzz-{_seed}-u{++_uniqueNames}",
                _ => _names[_random.Next(_names.Length)],
            };
        }

        if (type == typeof(Uuid))
        {
            return _random.Next(3) == 0 ? Uuid.NewRandom() : Uuid.Zero;
        }

        if (type == typeof(byte[]))
        {
            var bytes = new byte[_random.Next(0, 64)];
            _random.NextBytes(bytes);
            return bytes;
        }

        if (type == typeof(ReadOnlyMemory<byte>))
        {
            return new ReadOnlyMemory<byte>(Records());
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            var count = depth >= 3 ? 0 : _random.Next(20) == 0 ? _random.Next(10, 60) : _random.Next(0, 4);
            for (var i = 0; i < count; i++)
            {
                list.Add(Value(element, name, depth + 1));
            }

            return list;
        }

        if (type.IsClass && type.GetConstructor(Type.EmptyTypes) is not null && depth < 4)
        {
            return Fill(type, depth + 1);
        }

        return type.IsValueType ? Activator.CreateInstance(type) : null;
    }

    private static readonly string[] ConfigNames =
        ["cleanup.policy", "retention.ms", "segment.bytes", "min.insync.replicas", "max.message.bytes", "unknown.key", "compression.type"];

    /// <summary>A valid record batch most of the time (so Produce reaches the log), random bytes otherwise.</summary>
    private byte[] Records()
    {
        if (_random.Next(3) == 0)
        {
            var junk = new byte[_random.Next(0, 128)];
            _random.NextBytes(junk);
            return junk;
        }

        var builder = new RecordBatchBuilder();
        for (var i = _random.Next(1, 4); i > 0; i--)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), [(byte)i], new byte[_random.Next(0, 100)]);
        }

        return builder.Build();
    }

    /// <summary>A byte-level change to a well-formed frame; the size prefix stays true to the bytes sent unless the
    /// mutation is about the prefix itself.</summary>
    private FuzzFrame Mutate(ApiDescriptor api, short version, string structured, byte[] frame)
    {
        var bytes = (byte[])frame.Clone();
        var bodyStart = 4;
        string what;
        switch (_random.Next(9))
        {
            case 0:
            case 1:
                for (var flips = _random.Next(1, 6); flips > 0; flips--)
                {
                    var at = bodyStart + 8 + _random.Next(Math.Max(1, bytes.Length - bodyStart - 8));
                    if (at < bytes.Length)
                    {
                        bytes[at] ^= (byte)(1 << _random.Next(8));
                    }
                }

                what = "bit flips";
                break;
            case 2:
            case 3:
                {
                    // A count, length or size somewhere in the body set to an extreme.
                    var at = bodyStart + 8 + _random.Next(Math.Max(1, bytes.Length - bodyStart - 12));
                    if (at + 4 <= bytes.Length)
                    {
                        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(at), InterestingInts[_random.Next(InterestingInts.Length)]);
                    }

                    what = "int32 overwritten";
                    break;
                }
            case 4:
                {
                    var at = bodyStart + 8 + _random.Next(Math.Max(1, bytes.Length - bodyStart - 10));
                    if (at + 2 <= bytes.Length)
                    {
                        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(at), InterestingShorts[_random.Next(InterestingShorts.Length)]);
                    }

                    what = "int16 overwritten";
                    break;
                }
            case 5:
                {
                    var keep = _random.Next(12, Math.Max(13, bytes.Length));
                    bytes = bytes[..Math.Min(keep, bytes.Length)];
                    BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
                    what = "truncated";
                    break;
                }
            case 6:
                {
                    var junk = new byte[_random.Next(1, 64)];
                    _random.NextBytes(junk);
                    bytes = [.. bytes, .. junk];
                    BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
                    what = "trailing junk";
                    break;
                }
            case 7:
                BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(6), (short)(_random.Next(2) == 0 ? api.HighestVersion + 1 + _random.Next(3) : -1));
                what = "version out of range";
                break;
            default:
                // Varint-encoded compact counts: set a byte in the body to 0xFF runs (huge uvarints).
                var start = bodyStart + 8 + _random.Next(Math.Max(1, bytes.Length - bodyStart - 8));
                for (var i = start; i < Math.Min(bytes.Length, start + _random.Next(1, 5)); i++)
                {
                    bytes[i] = 0xFF;
                }

                what = "0xFF run";
                break;
        }

        return new FuzzFrame(api.ApiKey, version, structured + " + " + what, bytes);
    }
}
