using Tributary.Operator.Hosting;

namespace Tributary.Operator.Tests.Model;

public class OperatorOptionsTests
{
    [Fact]
    public void Kubeconfig_and_lease_namespace_come_from_the_environment_unless_given()
    {
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = "/k/config", ["POD_NAMESPACE"] = "ops", ["POD_NAME"] = "op-1" };
        var options = OperatorOptions.Parse([], k => env.GetValueOrDefault(k));
        Assert.Equal("/k/config", options.Kubeconfig);
        Assert.Equal("ops", options.LeaseNamespace);
        Assert.Equal("op-1", options.Identity);
        Assert.Equal(8080, options.HttpPort);
        options = OperatorOptions.Parse(["--kubeconfig", "/other", "--http-port", "18080"], k => env.GetValueOrDefault(k));
        Assert.Equal("/other", options.Kubeconfig);
        Assert.Equal(18080, options.HttpPort);
    }

    [Fact]
    public void A_bad_option_is_an_error_not_a_default()
    {
        Assert.NotNull(OperatorOptions.Parse(["--http-port", "0"], _ => null).Error);
        Assert.NotNull(OperatorOptions.Parse(["--frobnicate", "1"], _ => null).Error);
        Assert.NotNull(OperatorOptions.Parse(["--workers"], _ => null).Error);
    }

    [Fact]
    public void Http_binds_to_the_pod_ip_when_given_else_to_every_address()
    {
        Assert.Equal("http://0.0.0.0:8080", OperatorOptions.Parse([], _ => null).HttpUrl);
        Assert.Equal("http://10.1.2.3:8080", OperatorOptions.Parse([], k => k == "POD_IP" ? "10.1.2.3" : null).HttpUrl);
        Assert.Equal("http://[fd00::7]:9090", OperatorOptions.Parse(["--http-port", "9090"], k => k == "POD_IP" ? "fd00::7" : null).HttpUrl);
        Assert.NotNull(OperatorOptions.Parse([], k => k == "POD_IP" ? "not-an-ip" : null).Error);
    }
}

public class ConnectOptionsTests
{
    [Fact]
    public void Connect_url_is_taken_without_a_trailing_slash_and_must_be_http()
    {
        Assert.Null(OperatorOptions.Parse([], _ => null).ConnectUrl);
        Assert.Equal("http://connect.ns.svc:8083", OperatorOptions.Parse(["--connect-url", "http://connect.ns.svc:8083/"], _ => null).ConnectUrl);
        Assert.NotNull(OperatorOptions.Parse(["--connect-url", "connect:8083"], _ => null).Error);
        Assert.NotNull(OperatorOptions.Parse(["--connect-url", "ftp://connect:8083"], _ => null).Error);
    }
}
