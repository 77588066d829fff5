using System.Collections;
using Tributary.ProtocolGen.Model;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>Field-by-field comparison of two generated messages, over the fields that exist in one version.</summary>
internal static class MessageEquivalence
{
    public static void AssertEquivalent(MessageDefinition message, object expected, object actual, short version)
    {
        Compare(message, message.Fields, expected, actual, version, message.ClassName);
    }

    private static void Compare(MessageDefinition message, IReadOnlyList<FieldDefinition> fields, object expected, object actual, short version, string path)
    {
        foreach (var field in fields.Where(f => f.Versions.Contains(version)))
        {
            var property = expected.GetType().GetProperty(field.Name)!;
            CompareValue(message, field.Type, property.GetValue(expected), property.GetValue(actual), version, $"{path}.{field.Name}");
        }
    }

    private static void CompareValue(MessageDefinition message, FieldType type, object? expected, object? actual, short version, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }

        switch (type.Kind)
        {
            case TypeKind.Array:
                {
                    var expectedList = (IList)expected;
                    var actualList = (IList)actual;
                    Assert.True(expectedList.Count == actualList.Count, $"{path}: expected {expectedList.Count} elements, got {actualList.Count}");
                    for (int i = 0; i < expectedList.Count; i++)
                    {
                        CompareValue(message, type.Element!, expectedList[i], actualList[i], version, $"{path}[{i}]");
                    }

                    break;
                }

            case TypeKind.Struct:
                Compare(message, message.Structs.Single(s => s.Name == type.StructName).Fields, expected, actual, version, path);
                break;
            case TypeKind.Bytes:
                Assert.True(((byte[])expected).AsSpan().SequenceEqual((byte[])actual), $"{path}: bytes differ");
                break;
            case TypeKind.Records:
                Assert.True(((ReadOnlyMemory<byte>)expected).Span.SequenceEqual(((ReadOnlyMemory<byte>)actual).Span), $"{path}: records differ");
                break;
            default:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected}, got {actual}");
                break;
        }
    }
}
