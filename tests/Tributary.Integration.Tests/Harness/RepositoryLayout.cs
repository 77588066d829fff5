namespace Tributary.Integration.Tests.Harness;

/// <summary>Locates the repository, the built broker executable and the client scripts from the test assembly.</summary>
public static class RepositoryLayout
{
    /// <summary>The directory holding <c>Cluster.sln</c>.</summary>
    public static string Root => RepositoryPaths.Root;

    /// <summary>Debug or Release: the configuration this test assembly was built with, so the broker matches it.</summary>
    public static string Configuration => RepositoryPaths.Configuration;

    /// <summary>The built broker executable, or the one named by TRIBUTARY_BROKER_DLL.</summary>
    public static string BrokerDll => RepositoryPaths.BrokerDll;

    /// <summary>The Python client scripts driven by <c>Python/PythonClientTests</c>.</summary>
    public static string ClientScriptsDirectory =>
        Path.Combine(Root, "tests", "Tributary.Integration.Tests", "scripts");
}
