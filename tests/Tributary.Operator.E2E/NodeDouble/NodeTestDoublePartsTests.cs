using Tributary.Operator.E2E.Harness;

namespace Tributary.Operator.E2E.NodeDouble;

/// <summary>The node test double's pure parts: what a kubelet would compute the same way.</summary>
public sealed class NodeTestDoublePartsTests
{
    private static string? Lookup(string name) => name switch { "POD_IP" => "127.0.1.12", "POD_NAME" => "b-0", _ => null };

    [Theory]
    [InlineData("http://$(POD_IP):9094", "http://127.0.1.12:9094")]
    [InlineData("/etc/tributary/$(POD_NAME).properties", "/etc/tributary/b-0.properties")]
    [InlineData("$(UNDEFINED)-x", "$(UNDEFINED)-x")]
    [InlineData("$$(POD_IP)", "$(POD_IP)")]
    [InlineData("cost $5 $", "cost $5 $")]
    [InlineData("$(POD_IP", "$(POD_IP")]
    public void Expansion_follows_kubernetes_rules(string input, string expected) =>
        Assert.Equal(expected, KubernetesExpansion.Expand(input, Lookup));

    [Theory]
    [InlineData("tributary-broker:0.1.0", "tributary-broker")]
    [InlineData("registry.example:5000/tributary/tributary-broker:0.2", "tributary-broker")]
    [InlineData("tributary-operator@sha256:abcd", "tributary-operator")]
    [InlineData("busybox", "busybox")]
    public void Image_repository_drops_registry_tag_and_digest(string image, string repository) =>
        Assert.Equal(repository, ContainerImages.RepositoryName(image));

    [Fact]
    public void Image_other_than_broker_or_operator_is_refused_with_a_reason()
    {
        var (command, unsupported) = ContainerImages.Resolve("busybox:1", [], ["sleep", "1"]);
        Assert.Null(command);
        Assert.Contains("busybox", unsupported);
    }

    [Fact]
    public void Hosts_file_keeps_foreign_lines_and_removes_exactly_its_own()
    {
        var path = Path.GetTempFileName();
        try
        {
            // A line from a run whose process is gone (pid 0x7ffffff0 does not exist) and a foreign line.
            File.WriteAllText(path, "127.0.0.1 localhost\n127.0.1.9 stale.svc # tributary-node-test-double pid=2147483632\n");
            var hosts = new HostsFile(path);
            hosts.RemoveStaleLines();
            Assert.Equal(["127.0.0.1 localhost"], File.ReadAllLines(path));

            hosts.SetEntries([("127.0.1.10", ["b-0.b.ns.svc.cluster.local", "b-0.b.ns.svc"])]);
            File.AppendAllText(path, "10.0.0.1 added-by-someone-else\n");
            hosts.SetEntries([("127.0.1.11", ["b-1.b.ns.svc"])]);
            var lines = File.ReadAllLines(path);
            Assert.Contains("127.0.0.1 localhost", lines);
            Assert.Contains("10.0.0.1 added-by-someone-else", lines);
            Assert.Single(lines, l => l.StartsWith("127.0.1.11 b-1.b.ns.svc ", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("b-0", StringComparison.Ordinal));

            hosts.RemoveOwnLines();
            Assert.Equal(["127.0.0.1 localhost", "10.0.0.1 added-by-someone-else"], File.ReadAllLines(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
