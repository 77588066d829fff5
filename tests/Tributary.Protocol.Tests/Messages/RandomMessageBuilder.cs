using System.Collections;
using Tributary.Protocol;
using Tributary.ProtocolGen.Model;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>Fills a generated message with seeded random, non-default values valid for one version: nulls only
/// where that version allows them, multi-element arrays, nested structs, and tagged fields sometimes left at default.</summary>
internal sealed class RandomMessageBuilder(MessageDefinition message, Random random)
{
    private static readonly string[] InterestingStrings = ["", "a", "topic-1", "héllo", "日本語", "__consumer_offsets", "🚀"];

    private readonly Type _messageType = DefinitionModel.ClassOf(message.ClassName);

    public IKafkaMessage Build(short version) => (IKafkaMessage)BuildStruct(_messageType, message.Fields, version);

    private object BuildStruct(Type type, IReadOnlyList<FieldDefinition> fields, short version)
    {
        object instance = Activator.CreateInstance(type)!;
        foreach (var field in fields)
        {
            if (!field.Versions.Contains(version) || (field.IsTagged && random.Next(4) == 0))
            {
                continue;
            }

            var property = type.GetProperty(field.Name)
                ?? throw new InvalidOperationException($"{type.Name} has no property {field.Name}");
            property.SetValue(instance, Value(field.Type, field.NullableVersions.Contains(version), version, property.PropertyType));
        }

        return instance;
    }

    private object? Value(FieldType type, bool nullAllowed, short version, Type clrType)
    {
        if (nullAllowed && random.Next(4) == 0)
        {
            return null;
        }

        switch (type.Kind)
        {
            case TypeKind.Array:
                {
                    var list = (IList)Activator.CreateInstance(clrType)!;
                    var elementType = clrType.GetGenericArguments()[0];
                    int count = random.Next(4);
                    for (int i = 0; i < count; i++)
                    {
                        list.Add(Value(type.Element!, nullAllowed: false, version, elementType));
                    }

                    return list;
                }

            case TypeKind.Struct:
                {
                    var definition = message.Structs.Single(s => s.Name == type.StructName);
                    var structType = _messageType.GetNestedType(type.StructName!)!;
                    return BuildStruct(structType, definition.Fields, version);
                }

            default:
                return Scalar(type.Kind);
        }
    }

    private object Scalar(TypeKind kind) => kind switch
    {
        TypeKind.Bool => random.Next(2) == 1,
        TypeKind.Int8 => (sbyte)random.Next(sbyte.MinValue, sbyte.MaxValue + 1),
        TypeKind.Int16 => (short)random.Next(short.MinValue, short.MaxValue + 1),
        TypeKind.Int32 => random.Next(int.MinValue, int.MaxValue),
        TypeKind.Int64 => random.NextInt64(long.MinValue, long.MaxValue),
        TypeKind.UInt16 => (ushort)random.Next(ushort.MaxValue + 1),
        TypeKind.UInt32 => (uint)random.NextInt64(uint.MaxValue + 1L),
        TypeKind.Float64 => (random.NextDouble() - 0.5) * 1e9,
        TypeKind.String => random.Next(2) == 0
            ? InterestingStrings[random.Next(InterestingStrings.Length)]
            : new string(Enumerable.Range(0, random.Next(1, 20)).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray()),
        TypeKind.Bytes => RandomBytes(random.Next(0, 9)),
        TypeKind.Records => (ReadOnlyMemory<byte>?)RandomBytes(random.Next(1, 41)),
        TypeKind.Uuid => new Uuid((ulong)random.NextInt64(), (ulong)random.NextInt64()),
        _ => throw new InvalidOperationException($"no scalar for {kind}"),
    };

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
