using System.Reflection;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Locates the repository, the built broker executable and the client scripts from the test assembly.</summary>
public static class RepositoryLayout
{
    /// <summary>The directory holding <c>Cluster.sln</c>, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built with, so the broker matches it.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? throw new InvalidOperationException("The test assembly carries no AssemblyConfigurationAttribute.");

    /// <summary>
    /// The broker executable the ProjectReference to Tributary.Host builds, or the one named by the environment
    /// variable TRIBUTARY_BROKER_DLL (to run the suite against another build, e.g. a published one).
    /// </summary>
    public static string BrokerDll =>
        Environment.GetEnvironmentVariable("TRIBUTARY_BROKER_DLL") is { Length: > 0 } chosen
            ? chosen
            : Path.Combine(Root, "broker", "src", "Tributary.Host", "bin", Configuration, "net10.0", "tributary-broker.dll");

    /// <summary>The Python client scripts driven by <c>Python/PythonClientTests</c>.</summary>
    public static string ClientScriptsDirectory =>
        Path.Combine(Root, "tests", "Tributary.Integration.Tests", "scripts");

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
