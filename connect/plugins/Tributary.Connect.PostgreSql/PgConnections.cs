using Npgsql;
using Tributary.Connect.Api.Config;

namespace Tributary.Connect.PostgreSql;

/// <summary>
/// The connection keys every PostgreSQL connector shares: <c>connection.url</c> (JDBC form
/// <c>jdbc:postgresql://host:port/db</c>, a <c>postgresql://</c> URI, or an Npgsql keyword string),
/// <c>connection.user</c> and <c>connection.password</c>.
/// </summary>
public static class PgConnections
{
    public const string UrlConfig = "connection.url";
    public const string UserConfig = "connection.user";
    public const string PasswordConfig = "connection.password";

    public static ConfigDef Define(ConfigDef def) => def
        .Define(UrlConfig, ConfigType.String, ConfigDef.NoDefault, Validators.Of((name, v) =>
        {
            try
            {
                _ = ConnectionString(v as string ?? "", null, null);
            }
            catch (ArgumentException e)
            {
                throw new ConfigException(name, v, e.Message);
            }
        }), Importance.High, "PostgreSQL connection: jdbc:postgresql://host:port/database, postgresql://user:pass@host:port/database, or an Npgsql connection string")
        .Define(UserConfig, ConfigType.String, null, Importance.High, "PostgreSQL user (overrides the one in connection.url)")
        .Define(PasswordConfig, ConfigType.Password, null, Importance.High, "PostgreSQL password (overrides the one in connection.url)");

    public static string ConnectionString(IReadOnlyDictionary<string, string> props) =>
        ConnectionString(props.GetValueOrDefault(UrlConfig, ""), props.GetValueOrDefault(UserConfig), props.GetValueOrDefault(PasswordConfig));

    /// <summary>An Npgsql connection string for a JDBC URL, a postgresql:// URI or an Npgsql keyword string; throws ArgumentException when it is none.</summary>
    public static string ConnectionString(string url, string? user, string? password)
    {
        var text = url.Trim();
        if (text.Length == 0)
        {
            throw new ArgumentException("connection.url is empty");
        }

        var builder = new NpgsqlConnectionStringBuilder();
        if (text.StartsWith("jdbc:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..];
        }

        if (text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                throw new ArgumentException($"'{url}' is not a valid PostgreSQL URL (expected jdbc:postgresql://host:port/database)");
            }

            builder.Host = uri.Host;
            builder.Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port;
            var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
            if (database.Length > 0)
            {
                builder.Database = database;
            }

            if (uri.UserInfo.Length > 0)
            {
                var parts = uri.UserInfo.Split(':', 2);
                builder.Username = Uri.UnescapeDataString(parts[0]);
                if (parts.Length == 2)
                {
                    builder.Password = Uri.UnescapeDataString(parts[1]);
                }
            }

            foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=', 2);
                var key = Uri.UnescapeDataString(kv[0]);
                var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
                if (key == "user")
                {
                    builder.Username = value;
                }
                else if (key == "password")
                {
                    builder.Password = value;
                }
            }
        }
        else if (text.Contains('='))
        {
            builder.ConnectionString = text; // throws ArgumentException on unknown keywords
        }
        else
        {
            throw new ArgumentException($"'{url}' is not a PostgreSQL URL or connection string");
        }

        if (!string.IsNullOrEmpty(user))
        {
            builder.Username = user;
        }

        if (!string.IsNullOrEmpty(password))
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    /// <summary>A double-quoted SQL identifier.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>"schema"."table" for <c>schema.table</c> or <c>table</c> (schema public).</summary>
    public static (string Schema, string Table) SplitTable(string qualified)
    {
        var dot = qualified.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? ("public", qualified.Trim()) : (qualified[..dot].Trim(), qualified[(dot + 1)..].Trim());
    }

    public static string QuoteTable(string schema, string table) => Quote(schema) + "." + Quote(table);
}
