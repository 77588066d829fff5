namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>
/// Avro's schema resolution rules (spec, "Schema Resolution"), reported the way Avro's reference
/// SchemaCompatibility checker and Confluent's verbose messages do: one incompatibility per problem, each with a
/// JSON-pointer-like location into the reader schema (e.g. /fields/1/type).
/// </summary>
internal static class AvroCompatibility
{
    public static IReadOnlyList<string> Check(AvroNode reader, AvroNode writer, string readerLabel, string writerLabel)
    {
        var walker = new Walker();
        walker.Compare(reader, writer, []);
        return walker.Found.Select(i => i.Describe(readerLabel, writerLabel)).ToList();
    }

    private sealed record Incompatibility(string Type, string Location, string Info)
    {
        public string Describe(string reader, string writer)
        {
            var description = Type switch
            {
                "FIXED_SIZE_MISMATCH" => $"The size of FIXED type field at path '{Location}' in the {reader} schema does not match with the {writer} schema",
                "TYPE_MISMATCH" => $"The type (path '{Location}') of a field in the {reader} schema does not match with the {writer} schema",
                "NAME_MISMATCH" => $"The name of the schema has changed (path '{Location}')",
                "MISSING_ENUM_SYMBOLS" => $"The {reader} schema is missing enum symbols '{Info}' at path '{Location}' in the {writer} schema",
                "MISSING_UNION_BRANCH" => $"The {reader} schema is missing a type inside a union field at path '{Location}' in the {writer} schema",
                "READER_FIELD_MISSING_DEFAULT_VALUE" => $"The field '{Info}' at path '{Location}' in the {reader} schema has no default value and is missing in the {writer} schema",
                _ => "",
            };
            return $"{{errorType:'{Type}', description:'{description}', additionalInfo:'{Info}'}}";
        }
    }

    private sealed class Walker
    {
        private readonly HashSet<(AvroNode, AvroNode)> _inProgress = new(new PairComparer());
        private readonly Dictionary<(AvroNode, AvroNode), bool> _probed = new(new PairComparer());

        public List<Incompatibility> Found { get; } = [];

        /// <summary>Returns whether the reader can read what the writer wrote; records why not.</summary>
        public bool Compare(AvroNode reader, AvroNode writer, List<string> location)
        {
            // A recursive type seen again on the same pair: assume compatible, as the reference checker does.
            if (!_inProgress.Add((reader, writer)))
            {
                return true;
            }
            try
            {
                return CompareOnce(reader, writer, location);
            }
            finally
            {
                _inProgress.Remove((reader, writer));
            }
        }

        private bool CompareOnce(AvroNode reader, AvroNode writer, List<string> location)
        {
            var reading = Kind(reader);
            var writing = Kind(writer);
            if (reading == writing)
            {
                switch (reader)
                {
                    case AvroArray ra:
                        return Nested("items", ra.Items, ((AvroArray)writer).Items, location);
                    case AvroMap rm:
                        return Nested("values", rm.Values, ((AvroMap)writer).Values, location);
                    case AvroFixed rf:
                        {
                            var wf = (AvroFixed)writer;
                            var ok = NamesMatch(rf, wf, location);
                            if (rf.Size != wf.Size)
                            {
                                Add("FIXED_SIZE_MISMATCH", location, "size", $"expected: {wf.Size}, found: {rf.Size}");
                                ok = false;
                            }
                            return ok;
                        }
                    case AvroEnum re:
                        {
                            var we = (AvroEnum)writer;
                            var ok = NamesMatch(re, we, location);
                            var missing = we.Symbols.Except(re.Symbols).Order(StringComparer.Ordinal).ToList();
                            // A reader enum default absorbs symbols it does not know (Avro 1.9+).
                            if (missing.Count > 0 && !(re.Default is not null && re.Symbols.Contains(re.Default)))
                            {
                                Add("MISSING_ENUM_SYMBOLS", location, "symbols", "[" + string.Join(", ", missing) + "]");
                                ok = false;
                            }
                            return ok;
                        }
                    case AvroRecord rr:
                        {
                            var wr = (AvroRecord)writer;
                            var ok = NamesMatch(rr, wr, location);
                            return CompareFields(rr, wr, location) && ok;
                        }
                    case AvroUnion:
                        {
                            // Every branch the writer may have written must be readable.
                            var ok = true;
                            var branches = ((AvroUnion)writer).Branches;
                            for (var i = 0; i < branches.Count; i++)
                            {
                                var at = Push(location, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                                if (!Quietly(reader, branches[i], at))
                                {
                                    Add("MISSING_UNION_BRANCH", at, null, $"reader union lacking writer type: {Upper(Kind(branches[i]))}");
                                    ok = false;
                                }
                            }
                            return ok;
                        }
                    default:
                        return true; // same primitive
                }
            }

            if (writer is AvroUnion writerUnion)
            {
                // A non-union reader reads a union only if it reads every branch.
                var ok = true;
                foreach (var branch in writerUnion.Branches)
                {
                    ok &= Compare(reader, branch, location);
                }
                return ok;
            }

            switch (reading)
            {
                case "long" when writing is "int":
                case "float" when writing is "int" or "long":
                case "double" when writing is "int" or "long" or "float":
                case "bytes" when writing is "string":
                case "string" when writing is "bytes":
                    return true; // promotions
                case "union":
                    foreach (var branch in ((AvroUnion)reader).Branches)
                    {
                        if (Quietly(branch, writer, location))
                        {
                            return true;
                        }
                    }
                    Add("MISSING_UNION_BRANCH", location, null, $"reader union lacking writer type: {Upper(writing)}");
                    return false;
                default:
                    Add("TYPE_MISMATCH", location, null, $"reader type: {Upper(reading)} not compatible with writer type: {Upper(writing)}");
                    return false;
            }
        }

        private bool CompareFields(AvroRecord reader, AvroRecord writer, List<string> location)
        {
            var ok = true;
            foreach (var field in reader.Fields)
            {
                var at = Push(Push(location, "fields"), field.Position.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var source = writer.Fields.FirstOrDefault(w => w.Name == field.Name)
                    ?? field.Aliases.Select(alias => writer.Fields.FirstOrDefault(w => w.Name == alias)).FirstOrDefault(w => w is not null);
                if (source is null)
                {
                    if (!field.HasDefault)
                    {
                        Add("READER_FIELD_MISSING_DEFAULT_VALUE", at, null, field.Name);
                        ok = false;
                    }
                    continue;
                }
                ok &= Nested("type", field.Type, source.Type, at);
            }
            return ok;
        }

        private bool NamesMatch(AvroNamed reader, AvroNamed writer, List<string> location)
        {
            // Unqualified names compare, or a reader alias names the writer's full name (Avro 1.9+ behaviour).
            if (reader.Name == writer.Name || reader.Aliases.Contains(writer.FullName))
            {
                return true;
            }
            Add("NAME_MISMATCH", location, "name", $"expected: {writer.FullName}");
            return false;
        }

        private bool Nested(string token, AvroNode reader, AvroNode writer, List<string> location) =>
            Compare(reader, writer, Push(location, token));

        /// <summary>Compares without recording, for "does any branch fit" probes; memoized per pair, as Avro's checker does.</summary>
        private bool Quietly(AvroNode reader, AvroNode writer, List<string> location)
        {
            if (_probed.TryGetValue((reader, writer), out var known))
            {
                return known;
            }
            var before = Found.Count;
            var ok = Compare(reader, writer, location);
            Found.RemoveRange(before, Found.Count - before);
            if (!_inProgress.Contains((reader, writer)))
            {
                _probed[(reader, writer)] = ok;
            }
            return ok;
        }

        private void Add(string type, List<string> location, string? token, string info)
        {
            var at = token is null ? location : Push(location, token);
            Found.Add(new Incompatibility(type, "/" + string.Join('/', at.Select(Escape)), info));
        }

        private static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

        private static List<string> Push(List<string> location, string token) => [.. location, token];

        private static string Kind(AvroNode node) => node is AvroRecord ? "record" : node.Kind;

        private static string Upper(string kind) => kind.ToUpperInvariant();
    }

    private sealed class PairComparer : IEqualityComparer<(AvroNode, AvroNode)>
    {
        public bool Equals((AvroNode, AvroNode) x, (AvroNode, AvroNode) y) =>
            ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((AvroNode, AvroNode) obj) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item1),
                System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Item2));
    }
}
