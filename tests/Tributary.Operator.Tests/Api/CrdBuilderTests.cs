using k8s;
using Tributary.Operator.Api;
using Tributary.Operator.CrdGen;

namespace Tributary.Operator.Tests.Api;

public class CrdBuilderTests
{
    [Fact]
    public void Topic_crd_has_status_subresource_defaults_and_printer_columns()
    {
        var crd = CrdBuilder.Build(typeof(Topic));
        Assert.Equal("topics.tributary.dev", crd.Metadata.Name);
        var version = Assert.Single(crd.Spec.Versions);
        Assert.Equal("v1alpha1", version.Name);
        Assert.NotNull(version.Subresources.Status);
        Assert.Contains(version.AdditionalPrinterColumns, c => c.Name == "Partitions" && c.JsonPath == ".spec.partitions");
        var spec = version.Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(1, spec.Properties["partitions"].DefaultProperty);
        Assert.Equal("string", spec.Properties["config"].AdditionalProperties is k8s.Models.V1JSONSchemaProps p ? p.Type : null);
    }

    [Fact]
    public void Operator_only_minimums_admit_zero_so_the_operator_can_report_it()
    {
        var spec = CrdBuilder.Build(typeof(Broker)).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(0, spec.Properties["replicas"].Minimum);
        Assert.Equal(1000, spec.Properties["replicas"].Maximum);
    }

    [Fact]
    public void Status_carries_conditions_and_observed_generation_for_every_kind()
    {
        foreach (var kind in CrdBuilder.Kinds)
        {
            var status = CrdBuilder.Build(kind).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"];
            Assert.Equal("array", status.Properties["conditions"].Type);
            Assert.Equal("integer", status.Properties["observedGeneration"].Type);
        }
    }

    [Fact]
    public void A_spec_with_required_fields_gets_no_empty_default_which_the_api_server_would_reject()
    {
        var connector = CrdBuilder.Build(typeof(ConnectorConfig)).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(["class"], connector.Required);
        Assert.Null(connector.DefaultProperty);
        Assert.NotNull(CrdBuilder.Build(typeof(Topic)).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].DefaultProperty);
    }

    [Fact]
    public void Checked_in_crds_match_the_cr_types()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Cluster.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        }

        foreach (var kind in CrdBuilder.Kinds)
        {
            var crd = CrdBuilder.Build(kind);
            foreach (var directory in new[] { "crds", "charts/tributary/crds" })
            {
                var text = File.ReadAllText(Path.Combine(root, directory, crd.Metadata.Name + ".yaml"));
                Assert.EndsWith(KubernetesYaml.Serialize(crd), text, StringComparison.Ordinal);
            }
        }
    }
}
