using System.Text.Json.Nodes;
using Tributary.Operator.Api;
using Tributary.Operator.Model;

namespace Tributary.Operator.Tests.Model;

public class ConnectorModelTests
{
    private static ConnectorConfig Connector(string state = "running", string? workerUrl = null) => new()
    {
        Metadata = new() { Name = "orders-source", NamespaceProperty = "apps" },
        Spec = new ConnectorConfigSpec
        {
            Class = "FileStreamSource",
            TasksMax = 2,
            State = state,
            WorkerUrl = workerUrl,
            Config = new() { ["file"] = "/data/in.txt", ["topic"] = "orders", ["tasks.max"] = "9", ["name"] = "other" },
        },
    };

    [Fact]
    public void Desired_config_takes_class_tasks_and_name_from_the_spec_fields_over_spec_config()
    {
        var config = ConnectorModel.DesiredConfig(Connector());
        Assert.Equal("FileStreamSource", config["connector.class"]);
        Assert.Equal("2", config["tasks.max"]);
        Assert.Equal("orders-source", config["name"]);
        Assert.Equal("/data/in.txt", config["file"]);
        Assert.Equal(5, config.Count);
    }

    [Fact]
    public void Config_differs_when_a_key_is_missing_added_or_changed()
    {
        var desired = ConnectorModel.DesiredConfig(Connector());
        Assert.True(ConnectorModel.SameConfig(desired, new Dictionary<string, string>(desired)));
        Assert.False(ConnectorModel.SameConfig(desired, new Dictionary<string, string>(desired) { ["file"] = "/data/other.txt" }));
        Assert.False(ConnectorModel.SameConfig(desired, new Dictionary<string, string>(desired) { ["extra"] = "x" }));
        var fewer = new Dictionary<string, string>(desired);
        fewer.Remove("topic");
        Assert.False(ConnectorModel.SameConfig(desired, fewer));
    }

    [Fact]
    public void Worker_url_is_the_specs_else_the_operators_default()
    {
        Assert.Equal("http://a:8083", ConnectorModel.WorkerUrl(Connector(workerUrl: "http://a:8083/"), "http://b:8083"));
        Assert.Equal("http://b:8083", ConnectorModel.WorkerUrl(Connector(), "http://b:8083"));
        Assert.Null(ConnectorModel.WorkerUrl(Connector(), null));
    }

    [Theory]
    [InlineData("paused", "RUNNING", ConnectorStateChange.Pause)]
    [InlineData("paused", "PAUSED", ConnectorStateChange.None)]
    [InlineData("stopped", "RUNNING", ConnectorStateChange.Stop)]
    [InlineData("stopped", "PAUSED", ConnectorStateChange.Stop)]
    [InlineData("running", "PAUSED", ConnectorStateChange.Resume)]
    [InlineData("running", "STOPPED", ConnectorStateChange.Resume)]
    [InlineData("running", "RUNNING", ConnectorStateChange.None)]
    [InlineData("running", "FAILED", ConnectorStateChange.None)]
    public void State_change_brings_the_connector_to_spec_state(string desired, string actual, ConnectorStateChange expected) =>
        Assert.Equal(expected, ConnectorModel.StateChange(desired, actual));

    [Fact]
    public void Status_mirrors_connector_and_task_states_and_cuts_a_failed_tasks_trace()
    {
        var trace = "System.IO.IOException: disk gone\n" + new string('x', 5000);
        var body = JsonNode.Parse($$"""
            {"name":"orders-source","connector":{"state":"RUNNING","worker_id":"10.0.0.1:8083"},
             "tasks":[{"id":1,"state":"FAILED","worker_id":"10.0.0.2:8083","trace":{{JsonValue.Create(trace).ToJsonString()}}},
                      {"id":0,"state":"RUNNING","worker_id":"10.0.0.1:8083"}],
             "type":"source"}
            """);
        var status = ConnectorModel.ParseStatus(body)!;
        Assert.Equal("RUNNING", status.State);
        Assert.Equal("10.0.0.1:8083", status.WorkerId);
        Assert.Equal("source", status.Type);
        Assert.Equal([0, 1], status.Tasks.Select(t => t.Id));
        Assert.Equal("10.0.0.2:8083", status.Tasks[1].WorkerId);
        Assert.StartsWith("System.IO.IOException: disk gone", status.Tasks[1].Trace);
        Assert.Equal(ConnectorModel.MaxTraceChars + 1, status.Tasks[1].Trace!.Length);

        var (ready, failed, reason, message) = ConnectorModel.Assess("running", status);
        Assert.False(ready);
        Assert.True(failed);
        Assert.Equal("TaskFailed", reason);
        Assert.Contains("task 1: System.IO.IOException: disk gone", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Running_is_ready_only_when_the_connector_and_every_task_run()
    {
        static ConnectorStatusView View(string state, params string[] tasks) =>
            new(state, "w", null, "sink", tasks.Select((s, i) => new ConnectorTaskStatus { Id = i, State = s }).ToList());

        Assert.True(ConnectorModel.Assess("running", View("RUNNING", "RUNNING", "RUNNING")).Ready);
        Assert.False(ConnectorModel.Assess("running", View("RUNNING", "RUNNING", "UNASSIGNED")).Ready);
        Assert.False(ConnectorModel.Assess("running", View("RUNNING")).Ready);
        Assert.False(ConnectorModel.Assess("running", View("PAUSED", "PAUSED")).Ready);
        Assert.True(ConnectorModel.Assess("paused", View("PAUSED", "PAUSED")).Ready);
        Assert.True(ConnectorModel.Assess("stopped", View("STOPPED")).Ready);
        Assert.True(ConnectorModel.Assess("running", View("FAILED")).Failed);
    }

    [Fact]
    public void Validation_errors_are_listed_per_field()
    {
        var body = JsonNode.Parse("""
            {"name":"FileStreamSource","error_count":2,"groups":["Common"],"configs":[
              {"definition":{"name":"topic"},"value":{"name":"topic","value":null,"errors":["Missing required configuration \"topic\" which has no default value."]}},
              {"definition":{"name":"file"},"value":{"name":"file","value":"/x","errors":[]}},
              {"definition":{"name":"batch.size"},"value":{"name":"batch.size","value":"-1","errors":["Value must be at least 1"]}}]}
            """);
        Assert.Equal(
            ["topic: Missing required configuration \"topic\" which has no default value.", "batch.size: Value must be at least 1"],
            ConnectorModel.ValidationErrors(body));
    }
}
