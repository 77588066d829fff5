using System.Globalization;
using Npgsql;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.PostgreSql;

/// <summary>One column of a table: name, type OID and its SQL name (format_type), NOT NULL, part of the primary key.</summary>
public sealed record PgColumn(string Name, uint TypeOid, string TypeName, bool NotNull, bool IsKey);

/// <summary>A table's columns in attribute order.</summary>
public sealed record PgTable(string Schema, string Name, IReadOnlyList<PgColumn> Columns)
{
    public string Qualified => PgConnections.QuoteTable(Schema, Name);

    public IEnumerable<PgColumn> KeyColumns => Columns.Where(c => c.IsKey);

    /// <summary>Reads a table's columns and primary key from the catalog; throws ConnectException when it does not exist.</summary>
    public static async Task<PgTable> LoadAsync(NpgsqlConnection connection, string schema, string table, CancellationToken cancellation)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT a.attname, a.atttypid::int8, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   COALESCE(a.attnum = ANY (i.indkey), false)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = schema });
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        var columns = new List<PgColumn>();
        await using (var reader = await cmd.ExecuteReaderAsync(cancellation))
        {
            while (await reader.ReadAsync(cancellation))
            {
                columns.Add(new PgColumn(reader.GetString(0), (uint)reader.GetInt64(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4)));
            }
        }

        return columns.Count == 0
            ? throw new Api.Connectors.ConnectException($"Table {schema}.{table} does not exist or has no columns")
            : new PgTable(schema, table, columns);
    }

    /// <summary>The select list: types we carry natively are read as they are, every other type as its text form.</summary>
    public string SelectList => string.Join(", ", Columns.Select(c => PgTypes.IsNative(c.TypeOid) ? PgConnections.Quote(c.Name) : PgConnections.Quote(c.Name) + "::text"));
}

/// <summary>
/// How PostgreSQL values become Connect values. bool, int2/4/8, float4/8, bytea map to Connect's boolean, int16/32/64,
/// float32/64 and bytes; every other type (text, numeric, timestamps, uuid, json, …) travels as a string holding
/// PostgreSQL's own text form, which is lossless and which a PostgreSQL sink casts back. Each field's schema carries the
/// column's SQL type in the parameter <see cref="TypeParameter"/>, so the sink's auto.create recreates the same types.
/// </summary>
public static class PgTypes
{
    public const string TypeParameter = "tributary.pg.type";

    private const uint Bool = 16;
    private const uint Bytea = 17;
    private const uint Int8 = 20;
    private const uint Int2 = 21;
    private const uint Int4 = 23;
    private const uint Float4 = 700;
    private const uint Float8 = 701;

    public static bool IsNative(uint oid) => oid is Bool or Bytea or Int8 or Int2 or Int4 or Float4 or Float8;

    public static Schema FieldSchema(PgColumn column, bool optional)
    {
        var b = column.TypeOid switch
        {
            Bool => SchemaBuilder.Bool(),
            Bytea => SchemaBuilder.Bytes(),
            Int8 => SchemaBuilder.Int64(),
            Int2 => SchemaBuilder.Int16(),
            Int4 => SchemaBuilder.Int32(),
            Float4 => SchemaBuilder.Float32(),
            Float8 => SchemaBuilder.Float64(),
            _ => SchemaBuilder.String(),
        };
        b.Parameter(TypeParameter, column.TypeName);
        return (optional ? b.Optional() : b).Build();
    }

    /// <summary>A struct schema of <paramref name="columns"/> named <paramref name="name"/>.</summary>
    public static Schema StructSchema(string name, IEnumerable<PgColumn> columns, bool allOptionalButKey)
    {
        var b = SchemaBuilder.Struct().Name(name);
        foreach (var c in columns)
        {
            b.Field(c.Name, FieldSchema(c, allOptionalButKey ? !c.IsKey : !c.NotNull));
        }

        return b.Build();
    }

    /// <summary>The Connect value of a column read by <see cref="PgTable.SelectList"/>.</summary>
    public static object? FromReader(NpgsqlDataReader reader, int ordinal, PgColumn column)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        return column.TypeOid switch
        {
            Bool => reader.GetBoolean(ordinal),
            Bytea => reader.GetFieldValue<byte[]>(ordinal),
            Int8 => reader.GetInt64(ordinal),
            Int2 => reader.GetInt16(ordinal),
            Int4 => reader.GetInt32(ordinal),
            Float4 => reader.GetFloat(ordinal),
            Float8 => reader.GetDouble(ordinal),
            _ => reader.GetString(ordinal),
        };
    }

    /// <summary>The Connect value of a column from its text form (what pgoutput sends).</summary>
    public static object? FromText(string? text, uint typeOid)
    {
        if (text is null)
        {
            return null;
        }

        var inv = CultureInfo.InvariantCulture;
        return typeOid switch
        {
            Bool => text is "t" or "true",
            Bytea => ParseBytea(text),
            Int8 => long.Parse(text, inv),
            Int2 => short.Parse(text, inv),
            Int4 => int.Parse(text, inv),
            Float4 => float.Parse(text, NumberStyles.Float, inv),
            Float8 => double.Parse(text, NumberStyles.Float, inv),
            _ => text,
        };
    }

    private static byte[] ParseBytea(string text) =>
        text.StartsWith("\\x", StringComparison.Ordinal)
            ? Convert.FromHexString(text.AsSpan(2))
            : throw new DataException("bytea value not in hex output format (bytea_output=hex is required)");

    /// <summary>The SQL type a sink column gets for <paramref name="schema"/> (auto.create).</summary>
    public static string SqlType(Schema schema)
    {
        if (schema.Parameters.TryGetValue(TypeParameter, out var declared) && declared.Length > 0)
        {
            return declared;
        }

        return schema.Name switch
        {
            Logical.Timestamp.LogicalName => "timestamptz",
            Logical.Date.LogicalName => "date",
            Logical.Time.LogicalName => "time",
            Logical.Decimal.LogicalName => "numeric",
            _ => schema.Type switch
            {
                SchemaType.Int8 or SchemaType.Int16 => "smallint",
                SchemaType.Int32 => "integer",
                SchemaType.Int64 => "bigint",
                SchemaType.Float32 => "real",
                SchemaType.Float64 => "double precision",
                SchemaType.Boolean => "boolean",
                SchemaType.String => "text",
                SchemaType.Bytes => "bytea",
                _ => throw new DataException($"No PostgreSQL column type for a {schema.Type} field (only primitive and logical types can be written)"),
            },
        };
    }
}
