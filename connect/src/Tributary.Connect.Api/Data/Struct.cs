namespace Tributary.Connect.Api.Data;

/// <summary>A value of a struct schema: one slot per field, validated against the field's schema on Put.</summary>
public sealed class Struct
{
    private readonly object?[] values;

    public Struct(Schema schema)
    {
        if (schema.Type != SchemaType.Struct)
        {
            throw new DataException("Not a struct schema: " + schema);
        }

        Schema = schema;
        values = new object?[schema.Fields.Count];
    }

    public Schema Schema { get; }

    public object? Get(string fieldName) => Get(LookupField(fieldName));

    public object? Get(Field field)
    {
        var v = values[field.Index];
        return v ?? field.Schema.DefaultValue;
    }

    /// <summary>The stored value without falling back to the field's default.</summary>
    public object? GetWithoutDefault(string fieldName) => values[LookupField(fieldName).Index];

    public Struct Put(string fieldName, object? value) => Put(LookupField(fieldName), value);

    public Struct Put(Field field, object? value)
    {
        Schema.Validate(field.Schema, value, field.Name);
        values[field.Index] = value;
        return this;
    }

    public void Validate()
    {
        foreach (var f in Schema.Fields)
        {
            Schema.Validate(f.Schema, values[f.Index], f.Name);
        }
    }

    private Field LookupField(string fieldName) =>
        Schema.Field(fieldName) ?? throw new DataException(fieldName + " is not a valid field name");

    public override bool Equals(object? obj)
    {
        if (obj is not Struct other || !Schema.Equals(other.Schema))
        {
            return false;
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!ValueEquality.Equal(values[i], other.values[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override int GetHashCode() => HashCode.Combine(Schema, values.Length);

    public override string ToString() =>
        "Struct{" + string.Join(",", Schema.Fields.Where(f => values[f.Index] is not null).Select(f => $"{f.Name}={ValueEquality.Show(values[f.Index])}")) + "}";
}

/// <summary>Deep equality for Connect values (arrays, lists, maps, structs, byte arrays).</summary>
public static class ValueEquality
{
    public static bool Equal(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a is byte[] ba && b is byte[] bb)
        {
            return ba.AsSpan().SequenceEqual(bb);
        }

        if (a is System.Collections.IDictionary da && b is System.Collections.IDictionary db)
        {
            if (da.Count != db.Count)
            {
                return false;
            }

            foreach (System.Collections.DictionaryEntry e in da)
            {
                if (!db.Contains(e.Key) || !Equal(e.Value, db[e.Key]))
                {
                    return false;
                }
            }

            return true;
        }

        if (a is System.Collections.IList la && b is System.Collections.IList lb)
        {
            if (la.Count != lb.Count)
            {
                return false;
            }

            for (var i = 0; i < la.Count; i++)
            {
                if (!Equal(la[i], lb[i]))
                {
                    return false;
                }
            }

            return true;
        }

        return a.Equals(b);
    }

    public static string Show(object? v) => v switch
    {
        null => "null",
        byte[] b => Convert.ToBase64String(b),
        System.Collections.IDictionary d => "{" + string.Join(",", d.Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={Show(e.Value)}")) + "}",
        string s => s,
        System.Collections.IList l => "[" + string.Join(",", l.Cast<object?>().Select(Show)) + "]",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>Connect's logical types: names and schemas as Kafka defines them.</summary>
public static class Logical
{
    public static class Timestamp
    {
        public const string LogicalName = "org.apache.kafka.connect.data.Timestamp";

        public static SchemaBuilder Builder() => SchemaBuilder.Int64().Name(LogicalName).Version(1);

        public static readonly Schema Schema = Builder().Build();

        public static long ToMillis(DateTime value) => (long)(value.ToUniversalTime() - DateTime.UnixEpoch).TotalMilliseconds;

        public static DateTime FromMillis(long millis) => DateTime.UnixEpoch.AddMilliseconds(millis);
    }

    public static class Date
    {
        public const string LogicalName = "org.apache.kafka.connect.data.Date";

        public static readonly Schema Schema = SchemaBuilder.Int32().Name(LogicalName).Version(1).Build();
    }

    public static class Time
    {
        public const string LogicalName = "org.apache.kafka.connect.data.Time";

        public static readonly Schema Schema = SchemaBuilder.Int32().Name(LogicalName).Version(1).Build();
    }

    public static class Decimal
    {
        public const string LogicalName = "org.apache.kafka.connect.data.Decimal";
    }
}
