using System.Reflection;

namespace Tributary.Operator.E2E.Harness;

/// <summary>Locates the repository and what the end-to-end tests run from it: the built broker and operator, the chart, the k8s scripts.</summary>
public static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } =
        typeof(RepositoryLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? throw new InvalidOperationException("The test assembly carries no AssemblyConfigurationAttribute.");

    /// <summary>The broker executable run for a container of image <c>…/tributary-broker</c>.</summary>
    public static string BrokerDll =>
        Environment.GetEnvironmentVariable("TRIBUTARY_BROKER_DLL") is { Length: > 0 } chosen
            ? chosen
            : Path.Combine(Root, "broker", "src", "Tributary.Host", "bin", Configuration, "net10.0", "tributary-broker.dll");

    /// <summary>The operator executable run for a container of image <c>…/tributary-operator</c>.</summary>
    public static string OperatorDll =>
        Environment.GetEnvironmentVariable("TRIBUTARY_OPERATOR_DLL") is { Length: > 0 } chosen
            ? chosen
            : Path.Combine(Root, "operator", "src", "Tributary.Operator", "bin", Configuration, "net10.0", "tributary-operator.dll");

    public static string Chart => Path.Combine(Root, "charts", "tributary");

    public static string K8sScripts => Path.Combine(Root, "scripts", "k8s");

    /// <summary>Where scripts/k8s/install.sh put the control-plane binaries and helm.</summary>
    public static string K8sBin => Path.Combine(
        Environment.GetEnvironmentVariable("K8S_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "tributary-k8s"),
        "bin");

    /// <summary>The dotnet muxer running the tests (the SDK tells child processes), else <c>dotnet</c> from PATH.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk && File.Exists(fromSdk) ? fromSdk : "dotnet";

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
