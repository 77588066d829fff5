using System.Globalization;
using System.Text;
using Tributary.ProtocolGen.Model;

namespace Tributary.ProtocolGen.Parsing;

/// <summary>Parses one <c>.kmsg</c> file (see Definitions/README.md) into an <see cref="ApiDefinition"/>.</summary>
/// <remarks>
/// Parsing happens in two passes: the first builds a tree of raw field lines from the indentation, the second
/// resolves versions, struct definitions and struct references in document order, so "defined earlier" means
/// exactly "appears on an earlier line and its definition is complete".
/// </remarks>
public static class DefinitionParser
{
    private const int IndentWidth = 2;

    /// <summary>Names the generated classes define themselves; a top-level field with one of them would not compile.</summary>
    private static readonly HashSet<string> ReservedMemberNames = new(StringComparer.Ordinal)
    {
        "ApiKey", "LowestVersion", "HighestVersion", "FirstFlexibleVersion", "ApiKeyValue", "Read", "Write", "IsDefault",
    };

    public static ApiDefinition ParseFile(string path)
    {
        return Parse(Path.GetFileName(path), File.ReadAllText(path));
    }

    public static ApiDefinition Parse(string fileName, string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        ApiHeader? header = null;
        RawField? request = null;
        RawField? response = null;
        RawField? section = null;
        var stack = new List<RawField>();

        for (int index = 0; index < lines.Length; index++)
        {
            int lineNumber = index + 1;
            string line = StripComment(lines[index], fileName, lineNumber).TrimEnd();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Contains('\t', StringComparison.Ordinal))
            {
                throw new DefinitionException(fileName, lineNumber, "tab character; indent with two spaces per level");
            }

            int indent = line.Length - line.TrimStart(' ').Length;
            string content = line[indent..];
            if (header is null)
            {
                if (indent != 0 || !content.StartsWith("api ", StringComparison.Ordinal))
                {
                    throw new DefinitionException(fileName, lineNumber, "expected the header line 'api <Name> key=<k> versions=<min>-<max> flexible=<N>+|none' first");
                }

                header = ParseHeader(content, fileName, lineNumber);
                continue;
            }

            if (indent == 0)
            {
                if (content is "request" or "response")
                {
                    if ((content == "request" ? request : response) is not null)
                    {
                        throw new DefinitionException(fileName, lineNumber, $"second '{content}' section");
                    }

                    section = new RawField(content, lineNumber, Tokens: []);
                    if (content == "request")
                    {
                        request = section;
                    }
                    else
                    {
                        response = section;
                    }

                    stack.Clear();
                    stack.Add(section);
                    continue;
                }

                throw new DefinitionException(fileName, lineNumber, $"unexpected '{content}' at the start of a line; expected 'request', 'response' or an indented field");
            }

            if (section is null)
            {
                throw new DefinitionException(fileName, lineNumber, "field before any 'request' or 'response' section");
            }

            if (indent % IndentWidth != 0)
            {
                throw new DefinitionException(fileName, lineNumber, $"indentation of {indent} spaces is not a multiple of {IndentWidth}");
            }

            int level = indent / IndentWidth;
            if (level > stack.Count)
            {
                throw new DefinitionException(fileName, lineNumber, $"indented {level} levels but the line above only opens level {stack.Count}");
            }

            stack.RemoveRange(level, stack.Count - level);
            var parent = stack[^1];
            if (parent != section && !LooksLikeStructType(parent.Tokens[1]))
            {
                throw new DefinitionException(fileName, lineNumber, $"indented under field '{parent.Tokens[0]}' (line {parent.Line}) whose type '{parent.Tokens[1]}' is not a struct or struct array");
            }

            var tokens = Tokenize(content, fileName, lineNumber);
            if (tokens.Count < 2)
            {
                throw new DefinitionException(fileName, lineNumber, $"field line needs '<Name> <Type> [modifiers]', got '{content}'");
            }

            var field = new RawField(content, lineNumber, tokens);
            parent.Children.Add(field);
            stack.Add(field);
        }

        if (header is null)
        {
            throw new DefinitionException(fileName, 1, "empty file; expected 'api <Name> key=… versions=… flexible=…'");
        }

        if (request is null || response is null)
        {
            throw new DefinitionException(fileName, lines.Length, $"missing '{(request is null ? "request" : "response")}' section");
        }

        var resolver = new Resolver(fileName, header);
        var requestMessage = resolver.ResolveMessage(MessageKind.Request, header.Name + "Request", request);
        var responseMessage = resolver.ResolveMessage(MessageKind.Response, header.Name + "Response", response);
        return new ApiDefinition(header.Name, header.Key, header.Versions, header.FirstFlexibleVersion, fileName, requestMessage, responseMessage);
    }

    private static ApiHeader ParseHeader(string content, string file, int line)
    {
        var tokens = content.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length < 2)
        {
            throw new DefinitionException(file, line, "header line needs an API name after 'api'");
        }

        string name = tokens[1];
        RequireIdentifier(name, "API name", file, line);
        short? key = null;
        VersionRange? versions = null;
        short? firstFlexible = null;
        foreach (string token in tokens.Skip(2))
        {
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new DefinitionException(file, line, $"unexpected '{token}' in the header; expected key=, versions= and flexible=");
            }

            string option = token[..eq];
            string value = token[(eq + 1)..];
            switch (option)
            {
                case "key":
                    key = ParseShort(value, "API key", file, line);
                    break;
                case "versions":
                    versions = ParseRange(value, file, line, "versions=");
                    if (versions.Value.IsOpenEnded)
                    {
                        throw new DefinitionException(file, line, $"versions={value} must name a highest version, e.g. versions=0-4");
                    }

                    break;
                case "flexible":
                    if (value == "none")
                    {
                        firstFlexible = -1;
                    }
                    else if (value.EndsWith('+'))
                    {
                        firstFlexible = ParseShort(value[..^1], "first flexible version", file, line);
                    }
                    else
                    {
                        throw new DefinitionException(file, line, $"flexible={value}: expected flexible=<N>+ or flexible=none");
                    }

                    break;
                default:
                    throw new DefinitionException(file, line, $"unknown header option '{option}'; expected key=, versions= and flexible=");
            }
        }

        if (key is null || versions is null || firstFlexible is null)
        {
            string missing = key is null ? "key=" : versions is null ? "versions=" : "flexible=";
            throw new DefinitionException(file, line, $"header line is missing {missing}");
        }

        if (key < 0)
        {
            throw new DefinitionException(file, line, $"API key {key} is negative");
        }

        if (firstFlexible >= 0 && !versions.Value.Contains(firstFlexible.Value))
        {
            throw new DefinitionException(file, line, $"flexible={firstFlexible}+ is outside versions={versions}");
        }

        return new ApiHeader(name, key.Value, versions.Value, firstFlexible.Value);
    }

    /// <summary>Parses vN+, vN-M, vN (with the leading 'v') or N+, N-M, N (without, for the header).</summary>
    private static VersionRange ParseRange(string text, string file, int line, string what)
    {
        string body = text.StartsWith('v') ? text[1..] : text;
        if (what != "versions=" && !text.StartsWith('v'))
        {
            throw new DefinitionException(file, line, $"{what}'{text}': version ranges look like v3+, v0-2 or v5");
        }

        VersionRange range;
        if (body.EndsWith('+'))
        {
            range = VersionRange.From(ParseShort(body[..^1], what, file, line));
        }
        else if (body.Contains('-', StringComparison.Ordinal))
        {
            var parts = body.Split('-');
            if (parts.Length != 2)
            {
                throw new DefinitionException(file, line, $"{what}'{text}': expected a range like v0-2");
            }

            range = new VersionRange(ParseShort(parts[0], what, file, line), ParseShort(parts[1], what, file, line));
        }
        else
        {
            short single = ParseShort(body, what, file, line);
            range = new VersionRange(single, single);
        }

        if (range.IsEmpty)
        {
            throw new DefinitionException(file, line, $"{what}'{text}': the range is empty (highest below lowest)");
        }

        return range;
    }

    private static short ParseShort(string text, string what, string file, int line)
    {
        if (text.Length == 0 || !text.All(char.IsAsciiDigit) || !short.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out short value))
        {
            throw new DefinitionException(file, line, $"{what}: '{text}' is not a version number (0..32767)");
        }

        return value;
    }

    private static bool LooksLikeStructType(string type)
    {
        string element = type.StartsWith("[]", StringComparison.Ordinal) ? type[2..] : type;
        return element.Length > 0 && char.IsAsciiLetterUpper(element[0]);
    }

    private static void RequireIdentifier(string name, string what, string file, int line)
    {
        if (name.Length == 0 || !char.IsAsciiLetterUpper(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
        {
            throw new DefinitionException(file, line, $"{what} '{name}' must be PascalCase letters and digits");
        }
    }

    /// <summary>Removes a '#' comment that is not inside a quoted default.</summary>
    private static string StripComment(string line, string file, int lineNumber)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == '#' && !quoted)
            {
                return line[..i];
            }
        }

        if (quoted)
        {
            throw new DefinitionException(file, lineNumber, "unterminated quoted string");
        }

        return line;
    }

    /// <summary>Splits on spaces, keeping a quoted string (with \" and \\ escapes) inside one token.</summary>
    private static List<string> Tokenize(string content, string file, int line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < content.Length; i++)
        {
            char c = content[i];
            if (quoted)
            {
                current.Append(c);
                if (c == '\\' && i + 1 < content.Length)
                {
                    current.Append(content[++i]);
                }
                else if (c == '"')
                {
                    quoted = false;
                }
            }
            else if (c == ' ')
            {
                if (current.Length > 0)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
                quoted = c == '"';
            }
        }

        if (quoted)
        {
            throw new DefinitionException(file, line, "unterminated quoted string");
        }

        if (current.Length > 0)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }

    private sealed record ApiHeader(string Name, short Key, VersionRange Versions, short FirstFlexibleVersion);

    private sealed record RawField(string Content, int Line, List<string> Tokens)
    {
        public List<RawField> Children { get; } = [];
    }

    /// <summary>Second pass over one file: types, versions, modifiers and struct definitions/references.</summary>
    private sealed class Resolver(string file, ApiHeader header)
    {
        private readonly VersionRange _flexibleVersions = header.FirstFlexibleVersion < 0
            ? VersionRange.None
            : header.Versions.Intersect(VersionRange.From(header.FirstFlexibleVersion));

        private Dictionary<string, StructDefinition> _structs = new(StringComparer.Ordinal);
        private List<StructDefinition> _structOrder = [];
        private HashSet<string> _structsBeingDefined = new(StringComparer.Ordinal);

        /// <summary>Per struct, the versions its fields are resolved against: the span of every field that uses it, not
        /// only the one that defines it (a struct reused by a field of other versions is on the wire in those too).</summary>
        private Dictionary<string, VersionRange> _structVersions = new(StringComparer.Ordinal);

        public MessageDefinition ResolveMessage(MessageKind kind, string className, RawField section)
        {
            _structVersions = new Dictionary<string, VersionRange>(StringComparer.Ordinal);
            List<FieldDefinition> fields;
            while (true)
            {
                _structs = new Dictionary<string, StructDefinition>(StringComparer.Ordinal);
                _structOrder = [];
                _structsBeingDefined = new HashSet<string>(StringComparer.Ordinal);
                fields = ResolveFields(section.Children, header.Versions, className, section.Line);

                // A struct's users may span more versions than the field that defined it; resolve again with the wider
                // span until nothing widens (each pass only widens, within the API's versions, so this ends).
                bool widened = false;
                foreach (var (name, used) in StructUsage(fields, _structOrder))
                {
                    var resolvedWith = _structVersions.GetValueOrDefault(name, VersionRange.None);
                    if (!resolvedWith.Covers(used))
                    {
                        _structVersions[name] = Span(resolvedWith, used);
                        widened = true;
                    }
                }

                if (!widened)
                {
                    break;
                }
            }

            string where = kind.ToString().ToLowerInvariant();
            foreach (var field in fields)
            {
                if (ReservedMemberNames.Contains(field.Name))
                {
                    throw new DefinitionException(file, field.Line, $"field name '{field.Name}' clashes with a member every generated message has; rename it");
                }

                if (_structs.ContainsKey(field.Name))
                {
                    throw new DefinitionException(file, field.Line, $"field '{field.Name}' has the same name as a struct in the {where}; both would be members of {className}");
                }
            }

            foreach (var definition in _structOrder)
            {
                if (definition.Name == className)
                {
                    throw new DefinitionException(file, definition.Line, $"struct '{definition.Name}' has the same name as its message class");
                }
            }

            return new MessageDefinition(kind, className, fields, _structOrder);
        }

        private List<FieldDefinition> ResolveFields(List<RawField> rawFields, VersionRange enclosing, string ownerName, int ownerLine)
        {
            var fields = new List<FieldDefinition>();
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            var tags = new Dictionary<int, string>();
            foreach (var raw in rawFields)
            {
                var field = ResolveField(raw, enclosing);
                if (names.TryGetValue(field.Name, out int firstLine))
                {
                    throw new DefinitionException(file, raw.Line, $"duplicate field '{field.Name}' in {ownerName} (first on line {firstLine})");
                }

                if (field.Name == ownerName)
                {
                    throw new DefinitionException(file, raw.Line, $"field '{field.Name}' has the same name as its enclosing struct (line {ownerLine}); C# forbids that");
                }

                names[field.Name] = raw.Line;
                if (field.Tag is int tag)
                {
                    if (tags.TryGetValue(tag, out string? other))
                    {
                        throw new DefinitionException(file, raw.Line, $"tag={tag} is already used by field '{other}' in {ownerName}");
                    }

                    tags[tag] = field.Name;
                }

                fields.Add(field);
            }

            return fields;
        }

        private FieldDefinition ResolveField(RawField raw, VersionRange enclosing)
        {
            string name = raw.Tokens[0];
            RequireIdentifier(name, "field name", file, raw.Line);
            var type = ParseType(raw.Tokens[1], raw.Line);

            VersionRange? explicitVersions = null;
            VersionRange? explicitNullable = null;
            bool nullableEverywhere = false;
            int? tag = null;
            string? defaultText = null;
            foreach (string modifier in raw.Tokens.Skip(2))
            {
                if (modifier.StartsWith('v'))
                {
                    if (explicitVersions is not null)
                    {
                        throw new DefinitionException(file, raw.Line, $"field '{name}' has two version ranges");
                    }

                    explicitVersions = ParseRange(modifier, file, raw.Line, "version range ");
                }
                else if (modifier == "nullable")
                {
                    nullableEverywhere = true;
                }
                else if (modifier.StartsWith("nullable=", StringComparison.Ordinal))
                {
                    explicitNullable = ParseRange(modifier["nullable=".Length..], file, raw.Line, "nullable=");
                }
                else if (modifier.StartsWith("tag=", StringComparison.Ordinal))
                {
                    string value = modifier["tag=".Length..];
                    if (value.Length == 0 || !value.All(char.IsAsciiDigit) || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
                    {
                        throw new DefinitionException(file, raw.Line, $"tag={value} is not a non-negative integer");
                    }

                    tag = parsed;
                }
                else if (modifier.StartsWith("default=", StringComparison.Ordinal))
                {
                    defaultText = modifier["default=".Length..];
                }
                else
                {
                    throw new DefinitionException(file, raw.Line, $"unknown modifier '{modifier}' on field '{name}'; expected vN+, vN-M, vN, nullable, nullable=vN+, tag=N or default=…");
                }
            }

            var versions = explicitVersions is { } given ? given.Intersect(enclosing) : enclosing;
            if (versions.IsEmpty)
            {
                throw new DefinitionException(file, raw.Line, $"field '{name}' versions {explicitVersions} do not overlap its enclosing versions {enclosing}");
            }

            if (tag is not null)
            {
                if (_flexibleVersions.IsEmpty)
                {
                    throw new DefinitionException(file, raw.Line, $"field '{name}' is tagged but the API has flexible=none");
                }

                var taggedVersions = versions.Intersect(_flexibleVersions);
                if (taggedVersions.IsEmpty)
                {
                    throw new DefinitionException(file, raw.Line, $"tagged field '{name}' exists in {versions}, none of which is flexible (flexible from v{header.FirstFlexibleVersion})");
                }

                versions = taggedVersions;
            }

            if ((nullableEverywhere || explicitNullable is not null) && !type.CanBeNull)
            {
                throw new DefinitionException(file, raw.Line, $"field '{name}' of type {type} cannot be nullable (only string, bytes, records, arrays and structs)");
            }

            if (nullableEverywhere && explicitNullable is not null)
            {
                throw new DefinitionException(file, raw.Line, $"field '{name}' has both 'nullable' and 'nullable=…'");
            }

            var nullableVersions = type.Kind == TypeKind.Records || nullableEverywhere
                ? versions
                : explicitNullable is { } range ? range.Intersect(versions) : VersionRange.None;
            if (explicitNullable is not null && nullableVersions.IsEmpty)
            {
                throw new DefinitionException(file, raw.Line, $"field '{name}' nullable={explicitNullable} does not overlap its versions {versions}");
            }

            var defaultValue = defaultText is null ? null : ParseDefault(defaultText, name, type, !nullableVersions.IsEmpty, raw.Line);

            if (type.IsStructOrStructArray)
            {
                ResolveStruct(raw, type.IsArray ? type.Element!.StructName! : type.StructName!, versions);
            }
            else if (raw.Children.Count > 0)
            {
                throw new DefinitionException(file, raw.Children[0].Line, $"indented under field '{name}' whose type {type} is not a struct");
            }

            return new FieldDefinition(name, type, versions, nullableVersions, tag, defaultValue, raw.Line);
        }

        private void ResolveStruct(RawField raw, string structName, VersionRange versions)
        {
            if (raw.Children.Count == 0)
            {
                if (_structs.ContainsKey(structName))
                {
                    return;
                }

                string reason = _structsBeingDefined.Contains(structName)
                    ? "refers to itself while it is being defined (recursive structs are not allowed)"
                    : "has no indented fields and no struct of that name is defined earlier in this message";
                throw new DefinitionException(file, raw.Line, $"struct '{structName}' {reason}");
            }

            if (_structs.TryGetValue(structName, out var existing) || _structsBeingDefined.Contains(structName))
            {
                string first = existing is null ? "an enclosing line" : $"line {existing.Line}";
                throw new DefinitionException(file, raw.Line, $"struct '{structName}' is defined twice (first at {first}); reuse it by writing the type with no indented fields");
            }

            _structsBeingDefined.Add(structName);
            var structVersions = Span(versions, _structVersions.GetValueOrDefault(structName, VersionRange.None));
            _structVersions[structName] = structVersions;
            var fields = ResolveFields(raw.Children, structVersions, structName, raw.Line);
            _structsBeingDefined.Remove(structName);
            var definition = new StructDefinition(structName, fields, raw.Line);
            _structs[structName] = definition;
            _structOrder.Add(definition);
        }

        /// <summary>Per struct name, the span of the versions of every field (top level or in a struct) of that type.</summary>
        private static Dictionary<string, VersionRange> StructUsage(List<FieldDefinition> fields, List<StructDefinition> structs)
        {
            var usage = new Dictionary<string, VersionRange>(StringComparer.Ordinal);
            foreach (var field in fields.Concat(structs.SelectMany(s => s.Fields)))
            {
                string? structName = field.Type.IsArray ? field.Type.Element!.StructName : field.Type.StructName;
                if (structName is not null)
                {
                    usage[structName] = Span(usage.GetValueOrDefault(structName, VersionRange.None), field.Versions);
                }
            }

            return usage;
        }

        /// <summary>The smallest range holding both (an empty range adds nothing).</summary>
        private static VersionRange Span(VersionRange a, VersionRange b) =>
            a.IsEmpty ? b : b.IsEmpty ? a : new VersionRange(Math.Min(a.Min, b.Min), Math.Max(a.Max, b.Max));

        private FieldType ParseType(string text, int line)
        {
            if (text.StartsWith("[]", StringComparison.Ordinal))
            {
                var element = ParseType(text[2..], line);
                if (element.Kind is TypeKind.Array or TypeKind.Records)
                {
                    throw new DefinitionException(file, line, $"type '{text}': arrays of {element.Kind.ToString().ToLowerInvariant()} are not supported");
                }

                return new FieldType(TypeKind.Array, Element: element);
            }

            return text switch
            {
                "bool" => new FieldType(TypeKind.Bool),
                "int8" => new FieldType(TypeKind.Int8),
                "int16" => new FieldType(TypeKind.Int16),
                "int32" => new FieldType(TypeKind.Int32),
                "int64" => new FieldType(TypeKind.Int64),
                "uint16" => new FieldType(TypeKind.UInt16),
                "uint32" => new FieldType(TypeKind.UInt32),
                "float64" => new FieldType(TypeKind.Float64),
                "string" => new FieldType(TypeKind.String),
                "bytes" => new FieldType(TypeKind.Bytes),
                "records" => new FieldType(TypeKind.Records),
                "uuid" => new FieldType(TypeKind.Uuid),
                _ when text.Length > 0 && char.IsAsciiLetterUpper(text[0]) && text.All(char.IsAsciiLetterOrDigit) =>
                    new FieldType(TypeKind.Struct, StructName: text),
                _ => throw new DefinitionException(file, line, $"unknown type '{text}'; expected bool, int8, int16, int32, int64, uint16, uint32, float64, string, bytes, records, uuid, []<type> or a PascalCase struct name"),
            };
        }

        private DefaultValue ParseDefault(string text, string name, FieldType type, bool nullable, int line)
        {
            if (text == "null")
            {
                if (!nullable)
                {
                    throw new DefinitionException(file, line, $"field '{name}': default=null needs the field to be nullable");
                }

                return new DefaultValue.Null();
            }

            switch (type.Kind)
            {
                case TypeKind.Bool:
                    return text switch
                    {
                        "true" => new DefaultValue.Boolean(true),
                        "false" => new DefaultValue.Boolean(false),
                        _ => throw new DefinitionException(file, line, $"field '{name}': default={text} is not true or false"),
                    };
                case TypeKind.Int8 or TypeKind.Int16 or TypeKind.Int32 or TypeKind.Int64 or TypeKind.UInt16 or TypeKind.UInt32 or TypeKind.Float64:
                    {
                        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
                        {
                            throw new DefinitionException(file, line, $"field '{name}': default={text} is not an integer");
                        }

                        var (min, max) = type.Kind switch
                        {
                            TypeKind.Int8 => ((long)sbyte.MinValue, (long)sbyte.MaxValue),
                            TypeKind.Int16 => (short.MinValue, short.MaxValue),
                            TypeKind.Int32 => (int.MinValue, int.MaxValue),
                            TypeKind.UInt16 => (ushort.MinValue, ushort.MaxValue),
                            TypeKind.UInt32 => (uint.MinValue, uint.MaxValue),
                            _ => (long.MinValue, long.MaxValue),
                        };
                        if (value < min || value > max)
                        {
                            throw new DefinitionException(file, line, $"field '{name}': default={text} is out of range for {type}");
                        }

                        return new DefaultValue.Integer(value);
                    }

                case TypeKind.String:
                    if (text.Length < 2 || text[0] != '"' || text[^1] != '"')
                    {
                        throw new DefinitionException(file, line, $"field '{name}': string defaults are quoted, e.g. default=\"\" (got {text})");
                    }

                    return new DefaultValue.Text(Unescape(text[1..^1]));
                default:
                    throw new DefinitionException(file, line, $"field '{name}': type {type} only accepts default=null");
            }
        }

        private static string Unescape(string body)
        {
            var builder = new StringBuilder(body.Length);
            for (int i = 0; i < body.Length; i++)
            {
                builder.Append(body[i] == '\\' && i + 1 < body.Length ? body[++i] : body[i]);
            }

            return builder.ToString();
        }
    }
}
