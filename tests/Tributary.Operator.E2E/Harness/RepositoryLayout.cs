using Tributary.Tests.Shared;

namespace Tributary.Operator.E2E.Harness;

/// <summary>Locates the repository and what the end-to-end tests run from it: the built broker and operator, the chart, the k8s scripts.</summary>
public static class RepositoryLayout
{
    public static string Root => RepositoryPaths.Root;

    public static string Configuration => RepositoryPaths.Configuration;

    /// <summary>The broker executable run for a container of image <c>…/tributary-broker</c>.</summary>
    public static string BrokerDll => RepositoryPaths.BrokerDll;

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
}
