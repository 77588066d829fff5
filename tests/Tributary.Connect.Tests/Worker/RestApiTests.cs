using System.Text.Json.Nodes;
using Tributary.Connect.Tests.Harness;
using Tributary.Tests.Shared;

namespace Tributary.Connect.Tests.Worker;

/// <summary>Kafka Connect's REST API, endpoint by endpoint, against one real worker: paths, JSON shapes, status codes, errors.</summary>
public sealed class RestApiTests(ConnectClusterFixture cluster) : IClassFixture<ConnectClusterFixture>
{
    private ConnectWorkerProcess W => cluster.Worker;

    private async Task<string> CreateSourceAsync(string name, string? file = null)
    {
        file ??= Path.Combine(cluster.DataDirectory, name + ".txt");
        if (!File.Exists(file))
        {
            await File.WriteAllLinesAsync(file, ["a", "b", "c"]);
        }

        await W.CreateConnectorAsync(name, new Dictionary<string, string>
        {
            ["connector.class"] = "FileStreamSource", ["file"] = file, ["topic"] = name + "-topic",
        });
        await W.WaitForStateAsync(name, "RUNNING", 1);
        return file;
    }

    private static JsonObject Config(params (string Key, string Value)[] entries)
    {
        var o = new JsonObject();
        foreach (var (k, v) in entries)
        {
            o[k] = v;
        }

        return o;
    }

    [Fact]
    public async Task Get_root_reports_version_commit_and_kafka_cluster_id()
    {
        var r = await W.GetAsync("/");
        Assert.Equal(200, r.Code);
        Assert.False(string.IsNullOrEmpty(r.Body!["version"]!.GetValue<string>()));
        Assert.NotNull(r.Body["commit"]);
        Assert.False(string.IsNullOrEmpty(r.Body["kafka_cluster_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Post_connectors_creates_201_with_location_and_info_and_lists_it()
    {
        var r = await W.PostAsync("/connectors", new JsonObject
        {
            ["name"] = "create-me",
            ["config"] = Config(("connector.class", "FileStreamSink"), ("topics", "create-me-in"), ("file", Path.Combine(cluster.DataDirectory, "create-me.out"))),
        });
        Assert.Equal(201, r.Code);
        Assert.Equal("/connectors/create-me", r.Raw.Headers.Location?.ToString());
        Assert.Equal("create-me", r.Body!["name"]!.GetValue<string>());
        Assert.Equal("create-me", r.Body["config"]!["name"]!.GetValue<string>());
        Assert.Equal("sink", r.Body["type"]!.GetValue<string>());
        Assert.NotNull(r.Body["tasks"] as JsonArray);
        var list = await W.GetAsync("/connectors");
        Assert.Contains("create-me", list.Body!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Post_connectors_for_an_existing_name_is_409()
    {
        await CreateSourceAsync("dup");
        var r = await W.PostAsync("/connectors", new JsonObject { ["name"] = "dup", ["config"] = Config(("connector.class", "FileStreamSource"), ("topic", "x")) });
        Assert.Equal(409, r.Code);
        Assert.Equal(409, r.Body!["error_code"]!.GetValue<int>());
        Assert.Equal("Connector dup already exists", r.Body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_connectors_with_an_invalid_config_is_400_naming_each_error()
    {
        var r = await W.PostAsync("/connectors", new JsonObject
        {
            ["name"] = "bad", ["config"] = Config(("connector.class", "FileStreamSource"), ("topic", "a,b"), ("tasks.max", "zero")),
        });
        Assert.Equal(400, r.Code);
        var message = r.Body!["message"]!.GetValue<string>();
        Assert.Contains("Connector configuration is invalid and contains the following 2 error(s)", message, StringComparison.Ordinal);
        Assert.Contains("tasks.max", message, StringComparison.Ordinal);
        Assert.Contains("topic", message, StringComparison.Ordinal);
        Assert.Equal(404, (await W.GetAsync("/connectors/bad")).Code);
    }

    [Fact]
    public async Task Post_connectors_with_an_unknown_class_is_400()
    {
        var r = await W.PostAsync("/connectors", new JsonObject { ["name"] = "nope", ["config"] = Config(("connector.class", "com.example.NoSuchConnector")) });
        Assert.Equal(400, r.Code);
        Assert.Contains("com.example.NoSuchConnector", r.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_connectors_with_malformed_json_is_400()
    {
        using var content = new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json");
        using var response = await W.Http.PostAsync("/connectors", content);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(400, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Unknown_connector_is_404_with_connects_error_json_on_every_path()
    {
        foreach (var (method, path) in new[]
                 {
                     ("GET", "/connectors/ghost"), ("GET", "/connectors/ghost/config"), ("GET", "/connectors/ghost/status"),
                     ("GET", "/connectors/ghost/tasks"), ("GET", "/connectors/ghost/tasks/0/status"), ("DELETE", "/connectors/ghost"),
                     ("POST", "/connectors/ghost/restart"), ("POST", "/connectors/ghost/tasks/0/restart"), ("PUT", "/connectors/ghost/pause"),
                     ("PUT", "/connectors/ghost/resume"), ("PUT", "/connectors/ghost/stop"), ("GET", "/connectors/ghost/offsets"),
                 })
        {
            var r = await W.SendAsync(new HttpMethod(method), path, null);
            Assert.True(r.Code == 404, $"{method} {path}: {r.Code}");
            Assert.Equal(404, r.Body!["error_code"]!.GetValue<int>());
            Assert.Equal("Connector ghost not found", r.Body["message"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Unknown_path_is_404_json()
    {
        var r = await W.GetAsync("/no/such/path");
        Assert.Equal(404, r.Code);
        Assert.Equal(404, r.Body!["error_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Get_connector_info_config_tasks_and_status_have_connects_shapes()
    {
        var file = await CreateSourceAsync("shapes");
        var info = await W.GetAsync("/connectors/shapes");
        Assert.Equal("source", info.Body!["type"]!.GetValue<string>());
        Assert.Equal("shapes", info.Body["tasks"]![0]!["connector"]!.GetValue<string>());
        Assert.Equal(0, info.Body["tasks"]![0]!["task"]!.GetValue<int>());

        var config = await W.GetAsync("/connectors/shapes/config");
        Assert.Equal(file, config.Body!["file"]!.GetValue<string>());

        var tasks = await W.GetAsync("/connectors/shapes/tasks");
        Assert.Equal("shapes", tasks.Body![0]!["id"]!["connector"]!.GetValue<string>());
        Assert.Equal(0, tasks.Body[0]!["id"]!["task"]!.GetValue<int>());
        Assert.Equal("shapes-topic", tasks.Body[0]!["config"]!["topic"]!.GetValue<string>());

        var status = await W.GetAsync("/connectors/shapes/status");
        Assert.Equal("shapes", status.Body!["name"]!.GetValue<string>());
        Assert.Equal("RUNNING", status.Body["connector"]!["state"]!.GetValue<string>());
        Assert.Equal(W.WorkerId, status.Body["connector"]!["worker_id"]!.GetValue<string>());
        Assert.Equal("source", status.Body["type"]!.GetValue<string>());

        var task = await W.GetAsync("/connectors/shapes/tasks/0/status");
        Assert.Equal(0, task.Body!["id"]!.GetValue<int>());
        Assert.Equal("RUNNING", task.Body["state"]!.GetValue<string>());
        Assert.Equal(404, (await W.GetAsync("/connectors/shapes/tasks/7/status")).Code);
    }

    [Fact]
    public async Task Get_connectors_expand_status_and_info_returns_a_map()
    {
        await CreateSourceAsync("expand");
        var r = await W.GetAsync("/connectors?expand=status&expand=info");
        Assert.Equal("RUNNING", r.Body!["expand"]!["status"]!["connector"]!["state"]!.GetValue<string>());
        Assert.Equal("expand", r.Body["expand"]!["info"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Put_config_creates_201_then_updates_200_and_the_task_config_follows()
    {
        var path = Path.Combine(cluster.DataDirectory, "put.txt");
        await File.WriteAllLinesAsync(path, ["x"]);
        var created = await W.PutAsync("/connectors/put-me/config", Config(("connector.class", "FileStreamSource"), ("file", path), ("topic", "put-1")));
        Assert.Equal(201, created.Code);
        await W.WaitForStateAsync("put-me", "RUNNING", 1);
        var updated = await W.PutAsync("/connectors/put-me/config", Config(("connector.class", "FileStreamSource"), ("file", path), ("topic", "put-2")));
        Assert.Equal(200, updated.Code);
        Assert.Equal("put-2", updated.Body!["config"]!["topic"]!.GetValue<string>());
        await Eventually.TrueAsync(async () => (await W.GetAsync("/connectors/put-me/tasks")).Body![0]!["config"]!["topic"]!.GetValue<string>() == "put-2",
            "task config follows the new topic");
    }

    [Fact]
    public async Task Put_config_with_a_mismatching_name_is_400()
    {
        var r = await W.PutAsync("/connectors/one/config", Config(("connector.class", "FileStreamSource"), ("topic", "t"), ("name", "two")));
        Assert.Equal(400, r.Code);
    }

    [Fact]
    public async Task Delete_connector_is_204_and_then_404()
    {
        await CreateSourceAsync("delete-me");
        Assert.Equal(204, (await W.DeleteAsync("/connectors/delete-me")).Code);
        Assert.Equal(404, (await W.GetAsync("/connectors/delete-me")).Code);
        Assert.DoesNotContain("delete-me", (await W.GetAsync("/connectors")).Body!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Pause_is_202_and_shows_paused_then_resume_is_202_and_running()
    {
        await CreateSourceAsync("pausing");
        Assert.Equal(202, (await W.PutAsync("/connectors/pausing/pause")).Code);
        await W.WaitForStateAsync("pausing", "PAUSED", 1);
        Assert.Equal(202, (await W.PutAsync("/connectors/pausing/resume")).Code);
        await W.WaitForStateAsync("pausing", "RUNNING", 1);
    }

    [Fact]
    public async Task Stop_is_204_shows_stopped_with_no_tasks_and_resume_starts_again()
    {
        await CreateSourceAsync("stopping");
        Assert.Equal(204, (await W.PutAsync("/connectors/stopping/stop")).Code);
        await W.WaitForStateAsync("stopping", "STOPPED", 0);
        Assert.Equal(202, (await W.PutAsync("/connectors/stopping/resume")).Code);
        await W.WaitForStateAsync("stopping", "RUNNING", 1);
    }

    [Fact]
    public async Task Restart_connector_is_204_and_with_include_tasks_is_202_listing_restarting_states()
    {
        await CreateSourceAsync("restarting");
        Assert.Equal(204, (await W.PostAsync("/connectors/restarting/restart")).Code);
        var r = await W.PostAsync("/connectors/restarting/restart?includeTasks=true&onlyFailed=false");
        Assert.Equal(202, r.Code);
        Assert.Equal("RESTARTING", r.Body!["connector"]!["state"]!.GetValue<string>());
        Assert.Equal("RESTARTING", r.Body["tasks"]![0]!["state"]!.GetValue<string>());
        await W.WaitForStateAsync("restarting", "RUNNING", 1);
    }

    [Fact]
    public async Task Restart_only_failed_leaves_running_tasks_alone()
    {
        await CreateSourceAsync("only-failed");
        var r = await W.PostAsync("/connectors/only-failed/restart?includeTasks=true&onlyFailed=true");
        Assert.Equal(202, r.Code);
        Assert.Equal("RUNNING", r.Body!["connector"]!["state"]!.GetValue<string>());
        Assert.Equal("RUNNING", r.Body["tasks"]![0]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Restart_task_is_204_and_the_task_runs_again()
    {
        await CreateSourceAsync("task-restart");
        Assert.Equal(204, (await W.PostAsync("/connectors/task-restart/tasks/0/restart")).Code);
        await W.WaitForStateAsync("task-restart", "RUNNING", 1);
        Assert.Equal(404, (await W.PostAsync("/connectors/task-restart/tasks/5/restart")).Code);
    }

    [Fact]
    public async Task A_task_that_fails_shows_failed_with_its_trace_and_restart_recovers_it()
    {
        var file = Path.Combine(cluster.DataDirectory, "shrinking.txt");
        await File.WriteAllLinesAsync(file, ["1", "2", "3"]);
        await CreateSourceAsync("failing", file);
        await Eventually.TrueAsync(async () => (await W.GetAsync("/connectors/failing/offsets")).Body!["offsets"]!.AsArray().Count == 1, "offsets committed");
        // Stored position past the end of a truncated file: the task refuses to guess and fails.
        await File.WriteAllTextAsync(file, "");
        Assert.Equal(204, (await W.PostAsync("/connectors/failing/tasks/0/restart")).Code);
        await Eventually.TrueAsync(async () => (await W.GetAsync("/connectors/failing/tasks/0/status")).Body!["state"]!.GetValue<string>() == "FAILED", "task FAILED");
        var status = await W.GetAsync("/connectors/failing/status");
        Assert.Contains("past the end", status.Body!["tasks"]![0]!["trace"]!.GetValue<string>(), StringComparison.Ordinal);

        await File.WriteAllLinesAsync(file, ["1", "2", "3", "4", "5"]);
        Assert.Equal(202, (await W.PostAsync("/connectors/failing/restart?includeTasks=true&onlyFailed=true")).Code);
        await W.WaitForStateAsync("failing", "RUNNING", 1);
    }

    [Fact]
    public async Task Offsets_get_lists_source_offsets_and_patch_on_a_running_connector_is_400()
    {
        var file = await CreateSourceAsync("offsets-running");
        await Eventually.TrueAsync(async () => (await W.GetAsync("/connectors/offsets-running/offsets")).Body!["offsets"]!.AsArray().Count == 1, "offsets committed");
        var r = await W.GetAsync("/connectors/offsets-running/offsets");
        Assert.Equal(file, r.Body!["offsets"]![0]!["partition"]!["filename"]!.GetValue<string>());
        Assert.Equal(new FileInfo(file).Length, r.Body["offsets"]![0]!["offset"]!["position"]!.GetValue<long>());

        var patch = await W.PatchAsync("/connectors/offsets-running/offsets", new JsonObject { ["offsets"] = new JsonArray() });
        Assert.Equal(400, patch.Code);
        Assert.Contains("STOPPED", patch.Body!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(400, (await W.DeleteAsync("/connectors/offsets-running/offsets")).Code);
    }

    [Fact]
    public async Task Offsets_patch_and_delete_on_a_stopped_source_connector_alter_and_reset_them()
    {
        var file = await CreateSourceAsync("offsets-stopped");
        await Eventually.TrueAsync(async () => (await W.GetAsync("/connectors/offsets-stopped/offsets")).Body!["offsets"]!.AsArray().Count == 1, "offsets committed");
        Assert.Equal(204, (await W.PutAsync("/connectors/offsets-stopped/stop")).Code);
        await W.WaitForStateAsync("offsets-stopped", "STOPPED", 0);

        var patch = await W.PatchAsync("/connectors/offsets-stopped/offsets", new JsonObject
        {
            ["offsets"] = new JsonArray(new JsonObject
            {
                ["partition"] = new JsonObject { ["filename"] = file }, ["offset"] = new JsonObject { ["position"] = 2 },
            }),
        });
        Assert.Equal(200, patch.Code);
        Assert.Equal("The offsets for this connector have been altered successfully", patch.Body!["message"]!.GetValue<string>());
        var altered = await W.GetAsync("/connectors/offsets-stopped/offsets");
        Assert.Equal(2, altered.Body!["offsets"]![0]!["offset"]!["position"]!.GetValue<long>());

        var reset = await W.DeleteAsync("/connectors/offsets-stopped/offsets");
        Assert.Equal(200, reset.Code);
        Assert.Equal("The offsets for this connector have been reset successfully", reset.Body!["message"]!.GetValue<string>());
        Assert.Empty((await W.GetAsync("/connectors/offsets-stopped/offsets")).Body!["offsets"]!.AsArray());
    }

    [Fact]
    public async Task Connector_plugins_lists_connectors_and_with_connectors_only_false_also_transforms()
    {
        var r = await W.GetAsync("/connector-plugins");
        var classes = r.Body!.AsArray().Select(p => p!["class"]!.GetValue<string>()).ToList();
        Assert.Contains("Tributary.Connect.File.FileStreamSourceConnector", classes);
        Assert.Contains("Tributary.Connect.File.FileStreamSinkConnector", classes);
        Assert.All(r.Body.AsArray(), p => Assert.Contains(p!["type"]!.GetValue<string>(), new[] { "source", "sink" }));

        var all = await W.GetAsync("/connector-plugins?connectorsOnly=false");
        var types = all.Body!.AsArray().Select(p => p!["type"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(new HashSet<string> { "source", "sink", "transformation", "predicate", "converter" }, types);
        Assert.Contains(all.Body.AsArray(), p => p!["class"]!.GetValue<string>() == "Tributary.Connect.Transforms.ExtractField$Value");
    }

    [Fact]
    public async Task Validate_a_good_config_reports_zero_errors_with_every_field()
    {
        var r = await W.PutAsync("/connector-plugins/FileStreamSource/config/validate", Config(
            ("connector.class", "FileStreamSource"), ("name", "v"), ("topic", "t"), ("file", "/tmp/x"),
            ("transforms", "hoist"), ("transforms.hoist.type", "org.apache.kafka.connect.transforms.HoistField$Value"), ("transforms.hoist.field", "line")));
        Assert.Equal(200, r.Code);
        Assert.Equal(0, r.Body!["error_count"]!.GetValue<int>());
        Assert.Equal("Tributary.Connect.File.FileStreamSourceConnector", r.Body["name"]!.GetValue<string>());
        var names = r.Body["configs"]!.AsArray().Select(c => c!["definition"]!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("topic", names);
        Assert.Contains("batch.size", names);
        Assert.Contains("transforms.hoist.field", names);
        Assert.Contains("errors.tolerance", names);
    }

    [Fact]
    public async Task Validate_a_bad_config_reports_each_bad_field()
    {
        var r = await W.PutAsync("/connector-plugins/FileStreamSink/config/validate", Config(
            ("connector.class", "FileStreamSink"), ("name", "v"), ("tasks.max", "-1"), ("errors.tolerance", "some"),
            ("transforms", "x"), ("transforms.x.type", "Cast$Value"), ("transforms.x.spec", "a:decimal")));
        Assert.Equal(200, r.Code);
        var errors = r.Body!["configs"]!.AsArray()
            .Where(c => c!["value"]!["errors"]!.AsArray().Count > 0)
            .ToDictionary(c => c!["value"]!["name"]!.GetValue<string>(), c => c!["value"]!["errors"]![0]!.GetValue<string>());
        Assert.Equal(4, r.Body["error_count"]!.GetValue<int>());
        Assert.Contains("at least 1", errors["tasks.max"], StringComparison.Ordinal);
        Assert.Contains("none, all", errors["errors.tolerance"], StringComparison.Ordinal);
        Assert.Contains("Must configure one of topics or topics.regex", errors["topics"], StringComparison.Ordinal);
        Assert.Contains("Invalid type found in casting spec", errors["transforms.x.spec"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_an_unknown_plugin_is_400()
    {
        var r = await W.PutAsync("/connector-plugins/NoSuchThing/config/validate", Config(("connector.class", "NoSuchThing")));
        Assert.Equal(400, r.Code);
        Assert.Equal(400, r.Body!["error_code"]!.GetValue<int>());
    }
}
