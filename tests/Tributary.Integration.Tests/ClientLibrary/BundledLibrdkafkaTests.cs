using System.Text.Json;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.ClientLibrary;

/// <summary>
/// Guards the librdkafka loading trap: the bundled librdkafka.so needs libsasl2.so.3, which Debian 12 lacks, and
/// Confluent.Kafka then silently loads another build (a fallback from the package, or Debian's much older
/// librdkafka). Every Confluent.Kafka result in this suite is only meaningful if the bundled library is in use.
/// </summary>
public sealed class BundledLibrdkafkaTests(ITestOutputHelper output)
{
    [Fact]
    public void Confluent_Kafka_loads_the_librdkafka_version_its_package_bundles()
    {
        var bundled = BundledRedistVersion();

        var loaded = Library.VersionString;

        output.WriteLine($"librdkafka.redist {bundled}; loaded librdkafka {loaded} from {string.Join(", ", LoadedLibrdkafkaFiles())}");

        Assert.True(
            MajorMinor(bundled) == MajorMinor(loaded),
            $"Confluent.Kafka loaded librdkafka {loaded}, but the librdkafka.redist package it ships with is {bundled}. " +
            "The bundled native library failed to load (usually libsasl2.so.3 missing) and a system copy was used: " +
            "run the tests via `source <(tests/scripts/librdkafka-env.sh) && dotnet test tests/Tributary.Integration.Tests`.");
    }

    [Fact]
    public void Confluent_Kafka_loads_the_main_bundled_librdkafka_so_rather_than_a_fallback_build()
    {
        var expected = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "librdkafka.so");

        _ = Library.VersionString; // forces the native library to load

        var loaded = LoadedLibrdkafkaFiles().ToList();
        output.WriteLine($"loaded: {string.Join(", ", loaded)}");
        // Observed with Confluent.Kafka 2.16.0 on Debian 12: when librdkafka.so cannot resolve libsasl2.so.3 the
        // loader quietly takes the package's centos8-librdkafka.so instead (same version, different build), so the
        // version check alone cannot see the fallback.
        Assert.True(
            loaded.Count == 1 && Path.GetFullPath(loaded[0]) == Path.GetFullPath(expected),
            $"Expected {expected} to be the only librdkafka mapped, found [{string.Join(", ", loaded)}]. " +
            "Run via `source <(tests/scripts/librdkafka-env.sh)` so libsasl2.so.3 resolves.");
    }

    /// <summary>The librdkafka.redist version NuGet resolved for this test assembly, read from its deps.json.</summary>
    private static string BundledRedistVersion()
    {
        var depsFile = Path.Combine(AppContext.BaseDirectory, typeof(BundledLibrdkafkaTests).Assembly.GetName().Name + ".deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        const string prefix = "librdkafka.redist/";
        foreach (var library in deps.RootElement.GetProperty("libraries").EnumerateObject())
        {
            if (library.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return library.Name[prefix.Length..];
            }
        }

        throw new InvalidOperationException($"{depsFile} lists no librdkafka.redist package.");
    }

    /// <summary>Which librdkafka shared object(s) this process mapped, for the diagnosis when the versions differ.</summary>
    private static IEnumerable<string> LoadedLibrdkafkaFiles() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
            .Where(path => path.Contains("librdkafka", StringComparison.Ordinal))
            .Distinct();

    private static string MajorMinor(string version)
    {
        var parts = version.Split('.', '-');
        return parts.Length >= 2 ? $"{parts[0]}.{parts[1]}" : version;
    }
}
