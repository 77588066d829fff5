using System.Diagnostics;
using Npgsql;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Connect.Tests.Harness;

/// <summary>
/// A throwaway PostgreSQL cluster from Debian's <c>postgresql</c> package: initdb into a temp directory, started with
/// <c>wal_level=logical</c> on a free loopback port (trust authentication, fsync off), stopped and deleted on dispose.
/// PostgreSQL refuses to run as root, so under root the cluster runs as <c>nobody</c> in a directory it owns.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string directory;
    private readonly string binDirectory;
    private bool stopped;

    private PostgresServer(string directory, string binDirectory, int port)
    {
        this.directory = directory;
        this.binDirectory = binDirectory;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database = "postgres") => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false";

    /// <summary>The JDBC-style URL the connectors take.</summary>
    public string JdbcUrl(string database) => $"jdbc:postgresql://127.0.0.1:{Port}/{database}";

    public static string BinDirectory()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.EnumerateDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException("PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's postgresql package (make deps does)");
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = BinDirectory();
        var dir = Path.Combine(Path.GetTempPath(), "tributary-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", ["nobody", dir], asNobody: false);
        }

        var server = new PostgresServer(dir, bin, FreePort.Next());
        await server.RunPgAsync("initdb", ["-D", Path.Combine(dir, "data"), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]);
        var options = $"-p {server.Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir} -c wal_level=logical -c fsync=off "
            + "-c synchronous_commit=off -c full_page_writes=off -c max_replication_slots=10 -c max_wal_senders=10 -c shared_buffers=32MB";
        await server.RunPgAsync("pg_ctl", ["-D", Path.Combine(dir, "data"), "-l", Path.Combine(dir, "server.log"), "-w", "-t", "60", "-o", options, "start"]);
        return server;
    }

    public async Task CreateDatabaseAsync(string name)
    {
        await using var conn = new NpgsqlConnection(ConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task ExecuteAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString(database));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 300 };
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString(database));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Every row of a query as text, one string per row (columns joined by '|', NULL as \N), in the query's order.</summary>
    public async Task<List<string>> RowsAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString(database));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "\\N" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    public string ServerLog()
    {
        var log = Path.Combine(directory, "server.log");
        return File.Exists(log) ? File.ReadAllText(log) : "";
    }

    private Task RunPgAsync(string tool, IReadOnlyList<string> args) => RunAsync(Path.Combine(binDirectory, tool), args, Environment.UserName == "root");

    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asNobody)
    {
        var start = new ProcessStartInfo(asNobody ? "runuser" : file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (asNobody)
        {
            foreach (var a in new[] { "-u", "nobody", "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}: {await stdout}{await stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stopped)
        {
            stopped = true;
            try
            {
                await RunPgAsync("pg_ctl", ["-D", Path.Combine(directory, "data"), "-m", "immediate", "-w", "stop"]);
            }
            catch (InvalidOperationException)
            {
            }
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
