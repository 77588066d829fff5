using System.Reflection;

namespace Tributary.Tests.Shared;

/// <summary>
/// The checkout and the built broker as every test project that starts real processes finds them; linked into each such
/// project (so <see cref="Configuration"/> is that test assembly's own).
/// </summary>
internal static class RepositoryPaths
{
    /// <summary>The directory holding <c>Cluster.sln</c>, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built with, so the broker matches it.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? throw new InvalidOperationException("The test assembly carries no AssemblyConfigurationAttribute.");

    /// <summary>
    /// The broker executable the ProjectReference to Tributary.Host builds, or the one named by the environment
    /// variable TRIBUTARY_BROKER_DLL (to run a suite against another build, e.g. a published one).
    /// </summary>
    public static string BrokerDll =>
        Environment.GetEnvironmentVariable("TRIBUTARY_BROKER_DLL") is { Length: > 0 } chosen
            ? chosen
            : Path.Combine(Root, "broker", "src", "Tributary.Host", "bin", Configuration, "net10.0", "tributary-broker.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Cluster.sln above {AppContext.BaseDirectory}.");
    }
}
