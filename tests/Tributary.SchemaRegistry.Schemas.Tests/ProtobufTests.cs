using static Tributary.SchemaRegistry.Schemas.Tests.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>.proto parsing (protobuf-net.Reflection), canonical text, imports via references.</summary>
public class ProtobufParsingTests
{
    [Fact]
    public void A_proto_file_is_printed_canonically_whatever_its_layout_and_comments()
    {
        var tidy = ParseProto("""
            syntax = "proto3";
            package shop;

            message Order {
              string id = 1;
              repeated int64 items = 2;
              map<string, int32> counts = 3;
              oneof payment { string card = 4; string iban = 5; }
              optional string note = 6;
            }
            """);
        var messy = ParseProto("syntax=\"proto3\"; package shop; // orders\nmessage Order{string id=1;repeated int64 items=2;map<string,int32> counts=3;oneof payment{string card=4;string iban=5;}optional string note=6;}");

        Assert.Equal(tidy.CanonicalString, messy.CanonicalString);
        Assert.True(tidy.IsEquivalentTo(messy));
        Assert.Equal(
            "syntax = \"proto3\";\npackage shop;\n\nmessage Order {\n  string id = 1;\n  repeated int64 items = 2;\n  map<string, int32> counts = 3;\n"
            + "  oneof payment {\n    string card = 4;\n    string iban = 5;\n  }\n  optional string note = 6;\n}\n",
            tidy.CanonicalString);
    }

    [Fact]
    public void Normalizing_orders_fields_by_number()
    {
        var one = ParseProto("syntax = \"proto3\"; message M { string b = 2; string a = 1; }");
        var two = ParseProto("syntax = \"proto3\"; message M { string a = 1; string b = 2; }");

        Assert.False(one.IsEquivalentTo(two));
        Assert.True(one.Normalize().IsEquivalentTo(two.Normalize()));
    }

    [Theory]
    [InlineData("syntax = \"proto3\"; message M { string a = 1 }", "line 1")]
    [InlineData("syntax = \"proto3\"; message M { Missing a = 1; }", "Missing")]
    [InlineData("syntax = \"proto3\"; import \"other.proto\"; message M { string a = 1; }", "other.proto")]
    [InlineData("syntax = \"proto3\"; message M { string a = 1; string b = 1; }", "1")]
    [InlineData("syntax = \"proto3\"; message M { map<string, M> _ = 3; }", "parser failed")]
    [InlineData("syntax = \"proto3\"; message M { repeated int64 b = 3; map<string, M> c = 3; }", "field number 3 is used by more than one field of M")]
    public void A_malformed_proto_is_rejected_with_a_message_naming_the_problem(string text, string mentioned)
    {
        var error = Assert.Throws<InvalidSchemaException>(() => ParseProto(text));

        Assert.Contains(mentioned, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_import_is_resolved_through_a_reference_named_by_its_path()
    {
        var schema = Parse(SchemaType.Protobuf,
            "syntax = \"proto3\"; package shop; import \"money.proto\"; message Order { shop.Money total = 1; }",
            ("money.proto", "money-value", "syntax = \"proto3\"; package shop; message Money { int64 units = 1; string currency = 2; }"));

        Assert.Contains("import \"money.proto\";", schema.CanonicalString, StringComparison.Ordinal);
        Assert.Contains("shop.Money total = 1;", schema.CanonicalString, StringComparison.Ordinal);
    }

    [Fact]
    public void Well_known_types_import_without_a_reference()
    {
        var schema = ParseProto("syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\"; message E { google.protobuf.Timestamp at = 1; }");

        Assert.Contains("google.protobuf.Timestamp at = 1;", schema.CanonicalString, StringComparison.Ordinal);
    }
}

/// <summary>Protobuf compatibility as Confluent applies it (fields compared by number; wire-compatible scalar groups).</summary>
public class ProtobufCompatibilityTests
{
    private static IParsedSchema User(string body, string package = "demo") =>
        ParseProto($"syntax = \"proto3\"; package {package}; message User {{ {body} }}");

    [Fact]
    public void Adding_and_removing_fields_is_compatible_both_ways()
    {
        // Rule: FIELD_ADDED and FIELD_REMOVED are compatible (unknown fields are skipped, missing ones default).
        var v1 = User("string name = 1;");
        var v2 = User("string name = 1; int32 age = 2;");

        Assert.Empty(Check(CompatibilityLevel.Full, v2, v1));
        Assert.Empty(Check(CompatibilityLevel.Full, v1, v2));
    }

    [Fact]
    public void Reusing_a_field_number_with_a_type_of_another_wire_group_is_incompatible()
    {
        // Rule: FIELD_SCALAR_KIND_CHANGED.
        var errors = Check(CompatibilityLevel.Backward, User("string name = 1; string age = 2;"), User("string name = 1; int32 age = 2;"));

        Assert.Equal(
            "{errorType:'FIELD_SCALAR_KIND_CHANGED', description:'The type of a scalar field at path '#/User/2' in the new schema does not match its type in the old schema'}",
            errors[0]);
    }

    [Theory]
    [InlineData("int32", "int64")]
    [InlineData("uint32", "bool")]
    [InlineData("int64", "uint64")]
    [InlineData("sint32", "sint64")]
    [InlineData("fixed32", "sfixed32")]
    [InlineData("fixed64", "sfixed64")]
    [InlineData("string", "bytes")]
    public void Changing_a_type_within_a_wire_compatible_group_is_compatible(string before, string after)
    {
        Assert.Empty(Check(CompatibilityLevel.Full, User($"{after} v = 1;"), User($"{before} v = 1;")));
    }

    [Theory]
    [InlineData("int32", "sint32")]
    [InlineData("fixed32", "fixed64")]
    [InlineData("float", "double")]
    [InlineData("int64", "fixed64")]
    public void Changing_a_type_across_wire_groups_is_incompatible(string before, string after)
    {
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", Check(CompatibilityLevel.Backward, User($"{after} v = 1;"), User($"{before} v = 1;"))[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Reusing_a_field_number_under_another_name_with_the_same_type_is_compatible()
    {
        // Rule: FIELD_NAME_CHANGED is compatible (the wire carries numbers, not names).
        Assert.Empty(Check(CompatibilityLevel.Full, User("string full_name = 1;"), User("string name = 1;")));
    }

    [Fact]
    public void Changing_a_scalar_into_a_message_is_a_kind_change()
    {
        var v1 = ParseProto("syntax = \"proto3\"; message Name { string first = 1; } message User { string name = 1; }");
        var v2 = ParseProto("syntax = \"proto3\"; message Name { string first = 1; } message User { Name name = 1; }");

        Assert.Contains("FIELD_KIND_CHANGED", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Pointing_a_field_at_another_message_type_is_incompatible()
    {
        var v1 = ParseProto("syntax = \"proto3\"; message A { string x = 1; } message B { string x = 1; } message User { A ref = 1; }");
        var v2 = ParseProto("syntax = \"proto3\"; message A { string x = 1; } message B { string x = 1; } message User { B ref = 1; }");

        Assert.Contains("FIELD_NAMED_TYPE_CHANGED", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Renaming_a_message_is_incompatible()
    {
        // Rule: MESSAGE_REMOVED (the old name is gone; MESSAGE_ADDED alone would be compatible).
        var errors = Check(CompatibilityLevel.Backward,
            ParseProto("syntax = \"proto3\"; message Person { string name = 1; }"),
            ParseProto("syntax = \"proto3\"; message User { string name = 1; }"));

        Assert.Equal(
            "{errorType:'MESSAGE_REMOVED', description:'The new schema is missing a message at path '#/User' in the old schema'}",
            errors[0]);
    }

    [Fact]
    public void Changing_the_package_is_incompatible()
    {
        Assert.Contains("PACKAGE_CHANGED", Check(CompatibilityLevel.Backward, User("string name = 1;", "other"), User("string name = 1;"))[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_change_inside_a_nested_message_is_reported_at_its_path()
    {
        var v1 = User("message Address { string city = 1; } Address home = 1;");
        var v2 = User("message Address { int32 city = 1; } Address home = 1;");

        var errors = string.Join("\n", Check(CompatibilityLevel.Backward, v2, v1));

        Assert.Contains("'#/User.Address/1'", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Removing_a_field_from_a_oneof_is_incompatible_and_adding_one_is_compatible()
    {
        // Rule: ONEOF_FIELD_REMOVED incompatible, ONEOF_FIELD_ADDED compatible.
        var two = User("oneof contact { string email = 1; string phone = 2; }");
        var one = User("oneof contact { string email = 1; }");

        Assert.Contains("ONEOF_FIELD_REMOVED", Check(CompatibilityLevel.Backward, one, two)[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, two, one));
    }

    [Fact]
    public void Moving_several_existing_fields_into_a_new_oneof_is_incompatible_but_one_field_is_fine()
    {
        // Rule: MULTIPLE_FIELDS_MOVED_TO_ONEOF (data with both set cannot be read back).
        var plain = User("string email = 1; string phone = 2;");

        Assert.Contains("MULTIPLE_FIELDS_MOVED_TO_ONEOF",
            Check(CompatibilityLevel.Backward, User("oneof contact { string email = 1; string phone = 2; }"), plain)[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, User("oneof contact { string email = 1; } string phone = 2;"), plain));
    }

    [Fact]
    public void Adding_an_enum_value_is_compatible()
    {
        Assert.Empty(Check(CompatibilityLevel.Full,
            User("enum Kind { A = 0; B = 1; C = 2; } Kind kind = 1;"), User("enum Kind { A = 0; B = 1; } Kind kind = 1;")));
    }

    [Fact]
    public void Adding_a_proto2_required_field_is_incompatible()
    {
        var v1 = ParseProto("syntax = \"proto2\"; message User { optional string name = 1; }");
        var v2 = ParseProto("syntax = \"proto2\"; message User { optional string name = 1; required int32 age = 2; }");

        Assert.Contains("REQUIRED_FIELD_ADDED", Check(CompatibilityLevel.Backward, v2, v1)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Making_a_numeric_field_repeated_is_incompatible_but_a_string_field_is_not()
    {
        // Rule: FIELD_NUMERIC_LABEL_CHANGED (packed encoding) vs FIELD_STRING_OR_BYTES_LABEL_CHANGED (compatible).
        Assert.Contains("FIELD_NUMERIC_LABEL_CHANGED", Check(CompatibilityLevel.Backward, User("repeated int32 v = 1;"), User("int32 v = 1;"))[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Backward, User("repeated string v = 1;"), User("string v = 1;")));
    }

    [Fact]
    public void Changing_the_syntax_alone_is_not_a_compatibility_rule_of_confluent()
    {
        Assert.Empty(Check(CompatibilityLevel.Full,
            ParseProto("syntax = \"proto3\"; message User { string name = 1; }"),
            ParseProto("syntax = \"proto2\"; message User { optional string name = 1; }")));
    }

    [Fact]
    public void Transitive_levels_catch_a_field_number_reused_two_versions_later()
    {
        // v2 removes field 2 (fine), v3 reuses number 2 as a string (fine against v2, not against v1).
        var v1 = User("string name = 1; int32 age = 2;");
        var v2 = User("string name = 1;");
        var v3 = User("string name = 1; string nickname = 2;");

        Assert.Empty(Check(CompatibilityLevel.Backward, v3, v1, v2));
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", Check(CompatibilityLevel.BackwardTransitive, v3, v1, v2)[0], StringComparison.Ordinal);
        Assert.Empty(Check(CompatibilityLevel.Forward, v3, v1, v2));
        Assert.NotEmpty(Check(CompatibilityLevel.ForwardTransitive, v3, v1, v2));
        Assert.NotEmpty(Check(CompatibilityLevel.FullTransitive, v3, v1, v2));
    }

    [Fact]
    public void A_protobuf_schema_is_incompatible_with_an_avro_one()
    {
        Assert.Equal("Incompatible because of different schema type",
            Check(CompatibilityLevel.Backward, User("string name = 1;"), ParseAvro("\"string\""))[0]);
    }
}

/// <summary>Confluent's .NET and Python serializers register Protobuf schemas as base64 serialized FileDescriptorProtos.</summary>
public class ProtobufSerializedDescriptorTests
{
    // protoc --descriptor_set_out of the .proto below (first file of the set), base64: what the serializers send.
    private const string OrderDescriptor =
        "CgtvcmRlci5wcm90bxIEc2hvcBofZ29vZ2xlL3Byb3RvYnVmL3RpbWVzdGFtcC5wcm90byLEAgoFT3JkZXISDgoCaWQYASABKAlSAmlkEhQKBWl0ZW1zGAIgAygDUgVpdGVtcxIvCgZjb3VudHMYAyADKAsyFy5zaG9wLk9yZGVyLkNvdW50c0VudHJ5UgZjb3VudHMSFAoEY2FyZBgEIAEoCUgAUgRjYXJkEhQKBGliYW4YBSABKAlIAFIEaWJhbhIXCgRub3RlGAYgASgJSAFSBG5vdGWIAQESKgoCYXQYByABKAsyGi5nb29nbGUucHJvdG9idWYuVGltZXN0YW1wUgJhdBIkCgZzdGF0dXMYCCABKA4yDC5zaG9wLlN0YXR1c1IGc3RhdHVzGjkKC0NvdW50c0VudHJ5EhAKA2tleRgBIAEoCVIDa2V5EhQKBXZhbHVlGAIgASgFUgV2YWx1ZToCOAFCCQoHcGF5bWVudEIHCgVfbm90ZSofCgZTdGF0dXMSCwoHVU5LTk9XThAAEggKBFBBSUQQAWIGcHJvdG8z";

    private const string OrderProto = """
        syntax = "proto3";
        package shop;

        import "google/protobuf/timestamp.proto";

        message Order {
          string id = 1;
          repeated int64 items = 2;
          map<string, int32> counts = 3;
          oneof payment {
            string card = 4;
            string iban = 5;
          }
          optional string note = 6;
          google.protobuf.Timestamp at = 7;
          Status status = 8;
        }

        enum Status {
          UNKNOWN = 0;
          PAID = 1;
        }
        """;

    [Fact]
    public void A_base64_file_descriptor_parses_to_the_same_schema_as_its_proto_text()
    {
        var fromDescriptor = ParseProto(OrderDescriptor);
        var fromText = ParseProto(OrderProto);

        Assert.Equal(fromText.CanonicalString, fromDescriptor.CanonicalString);
        Assert.True(fromDescriptor.IsEquivalentTo(fromText));
    }

    // protoc's descriptor of google/protobuf/timestamp.proto, base64: a dependency as the serializers register it.
    private const string TimestampDescriptor =
        "Ch9nb29nbGUvcHJvdG9idWYvdGltZXN0YW1wLnByb3RvEg9nb29nbGUucHJvdG9idWYiOwoJVGltZXN0YW1wEhgKB3NlY29uZHMYASABKANSB3NlY29uZHMSFAoFbmFub3MYAiABKAVSBW5hbm9zQoUBChNjb20uZ29vZ2xlLnByb3RvYnVmQg5UaW1lc3RhbXBQcm90b1ABWjJnb29nbGUuZ29sYW5nLm9yZy9wcm90b2J1Zi90eXBlcy9rbm93bi90aW1lc3RhbXBwYvgBAaICA0dQQqoCHkdvb2dsZS5Qcm90b2J1Zi5XZWxsS25vd25UeXBlc2IGcHJvdG8z";

    [Fact]
    public void A_well_known_import_registered_as_a_reference_is_served_from_the_reference()
    {
        var timestamp = new SchemaReference("google/protobuf/timestamp.proto", "google/protobuf/timestamp.proto", 1);

        var order = SchemaParsers.Parse(SchemaType.Protobuf, OrderDescriptor, [timestamp], _ => (SchemaType.Protobuf, TimestampDescriptor, []));

        Assert.Equal(ParseProto(OrderProto).CanonicalString, order.CanonicalString);
        Assert.Equal([timestamp], order.References);
    }

    [Fact]
    public void Base64_that_is_not_a_file_descriptor_is_rejected()
    {
        var error = Assert.Throws<InvalidSchemaException>(() => ParseProto("AAAAAAAA"));

        Assert.Contains("FileDescriptorProto", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Input bounds: nesting is limited before the recursive parser runs.</summary>
public class ProtobufBoundsTests
{
    [Fact]
    public void Messages_nested_too_deeply_are_rejected_with_a_clear_message()
    {
        var text = "syntax = \"proto3\";\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"message M{i} {{ ")) + new string('}', 200);

        var error = Assert.Throws<InvalidSchemaException>(() => ParseProto(text));

        Assert.Contains("nested deeper than 64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Braces_inside_strings_and_comments_do_not_count_as_nesting()
    {
        var braces = new string('{', 100);
        var schema = ParseProto($"syntax = \"proto3\"; // {braces}\n/* {braces} */ message M {{ string s = 1 [json_name = \"{braces}\"]; }}");

        Assert.Equal(SchemaType.Protobuf, schema.Type);
    }
}
