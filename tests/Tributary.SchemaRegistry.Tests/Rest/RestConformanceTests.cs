using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Tests.Harness;
using Xunit.Abstractions;
using static Tributary.SchemaRegistry.Tests.Rest.Schemas;

namespace Tributary.SchemaRegistry.Tests.Rest;

/// <summary>Confluent's REST API, endpoint by endpoint, as tables of request → status, error code and body, written
/// from Confluent's API reference. Each test gets a fresh registry (own store topic and election group) on a shared
/// broker process, so ids and versions are deterministic.</summary>
public sealed class RestConformanceTests(RestConformanceTests.BrokerFixture fixture, ITestOutputHelper output)
    : IClassFixture<RestConformanceTests.BrokerFixture>
{
    public sealed class BrokerFixture : IAsyncLifetime
    {
        private Tributary.Integration.Tests.Harness.BrokerProcess? _broker;
        private int _next;

        public string Bootstrap => _broker!.BootstrapServers;

        public int NextIndex() => Interlocked.Increment(ref _next);

        public async Task InitializeAsync() => _broker = await Tributary.Integration.Tests.Harness.BrokerProcess.StartAsync(output: null);

        public async Task DisposeAsync()
        {
            if (_broker is not null)
            {
                await _broker.DisposeAsync();
            }
        }
    }

    private async Task RunAsync(IEnumerable<Row> rows, IReadOnlyDictionary<string, string>? extra = null)
    {
        int n = fixture.NextIndex();
        var settings = new Dictionary<string, string> { ["kafkastore.topic"] = $"_schemas_rest_{n}", ["schema.registry.group.id"] = $"sr-rest-{n}" };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }

        await using var registry = await RegistryProcess.StartAsync(fixture.Bootstrap, output, settings);
        using var http = new RegistryHttp(registry.Url);
        await ConformanceTable.RunAsync(http, rows);
    }

    private static Row Get(string path, int status, int? error = null, string? body = null, Func<JsonNode?, bool>? shape = null) =>
        new("GET", path, null, status, error, body, shape);

    private static Row Post(string path, string request, int status, int? error = null, string? body = null, Func<JsonNode?, bool>? shape = null) =>
        new("POST", path, request, status, error, body, shape);

    private static Row Put(string path, string request, int status, int? error = null, string? body = null) => new("PUT", path, request, status, error, body);

    private static Row Delete(string path, int status, int? error = null, string? body = null) => new("DELETE", path, null, status, error, body);

    [Fact]
    public Task Subjects_and_versions_register_list_and_fetch() => RunAsync(
    [
        Get("/subjects", 200, body: "[]"),
        Get("/subjects/users/versions", 404, 40401),
        Post("/subjects/users/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/users/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/users/versions?normalize=true", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/users/versions", Body(UserV2), 200, body: """{"id":2}"""),
        Get("/subjects", 200, body: """["users"]"""),
        Get("/subjects/users/versions", 200, body: "[1,2]"),
        Get("/subjects/users/versions/1", 200, body: Version("users", 1, 1, UserV1)),
        Get("/subjects/users/versions/latest", 200, body: Version("users", 2, 2, UserV2)),
        Get("/subjects/users/versions/-1", 200, body: Version("users", 2, 2, UserV2)),
        Get("/subjects/users/versions/1/schema", 200, body: UserV1),
        Get("/subjects/users/versions/latest/schema", 200, body: UserV2),
        Get("/subjects/users/versions/3", 404, 40402),
        Get("/subjects/users/versions/0", 422, 42202),
        Get("/subjects/users/versions/abc", 422, 42202),
        Get("/subjects/nobody/versions/1", 404, 40401),
        Post("/subjects/others/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Get("/subjects?subjectPrefix=oth", 200, body: """["others"]"""),
        Get("/subjects", 200, body: """["others","users"]"""),
    ]);

    [Fact]
    public Task Lookup_finds_the_version_holding_a_schema() => RunAsync(
    [
        Post("/subjects/users", Body(UserV1), 404, 40401),
        Post("/subjects/users/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/users", Body(UserV1), 200, body: Version("users", 1, 1, UserV1)),
        Post("/subjects/users?normalize=true", Body(UserV1), 200, body: Version("users", 1, 1, UserV1)),
        Post("/subjects/users", Body(UserV2), 404, 40403),
        Post("/subjects/users", Body("""{"type":"record","name":"Broken","fields":[{"name":"x"}]}"""), 422, 42201),
    ]);

    [Fact]
    public Task Schemas_by_id_and_types() => RunAsync(
    [
        Get("/schemas/types", 200, body: """["JSON","PROTOBUF","AVRO"]"""),
        Get("/schemas/ids/1", 404, 40403),
        Post("/subjects/a/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/b/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Get("/schemas/ids/1", 200, body: SchemaById(UserV1)),
        Get("/schemas/ids/1?subject=a", 200, body: SchemaById(UserV1)),
        Get("/schemas/ids/1/schema", 200, body: UserV1),
        Get("/schemas/ids/1/subjects", 200, body: """["a","b"]"""),
        Get("/schemas/ids/1/versions", 200, body: """[{"subject":"a","version":1},{"subject":"b","version":1}]"""),
        Get("/schemas/ids/2", 404, 40403),
        Get("/schemas/ids/2/subjects", 404, 40403),
        Get("/schemas/ids/x", 404, 40403),
    ]);

    [Fact]
    public Task Bad_input_gets_confluents_error_and_stores_nothing() => RunAsync(
    [
        Post("/subjects/bad/versions", Body("""{"type":"record","name":"R","fields":[{"name":"f","type":"nosuchtype"}]}"""), 422, 42201),
        Post("/subjects/bad/versions", Body("not json at all"), 422, 42201),
        Post("/subjects/bad/versions", Body(UserV1, type: "XML"), 422, 42201),
        Post("/subjects/bad/versions", "{}", 422, 42201),
        Post("/subjects/bad/versions", """{"schema":""}""", 422, 42201),
        Post("/subjects/bad/versions", "{not json", 400, 400),
        new Row("POST", "/subjects/bad/versions", Body(UserV1), 415, 415, ContentType: "text/plain"),
        new Row("GET", "/subjects", null, 406, 406, Accept: "text/html"),
        Post("/subjects/bad/versions", Body(new string('x', 2 * 1024 * 1024)), 413, 413),
        Get("/no/such/endpoint", 404, 404),
        Get("/subjects", 200, body: "[]"),
        Get("/schemas/ids/1", 404, 40403),
    ]);

    [Fact]
    public Task Accepted_content_types_all_register() => RunAsync(
    [
        new Row("POST", "/subjects/c/versions", Body(UserV1), 200, Body: """{"id":1}""", ContentType: "application/vnd.schemaregistry.v1+json"),
        new Row("POST", "/subjects/c/versions", Body(UserV1), 200, Body: """{"id":1}""", ContentType: "application/vnd.schemaregistry+json"),
        new Row("POST", "/subjects/c/versions", Body(UserV1), 200, Body: """{"id":1}""", ContentType: "application/json"),
        new Row("POST", "/subjects/c/versions", Body(UserV1), 200, Body: """{"id":1}""", ContentType: "application/octet-stream"),
        new Row("GET", "/subjects/c/versions", null, 200, Body: "[1]", Accept: "application/vnd.schemaregistry.v1+json, application/json;q=0.9"),
        new Row("GET", "/subjects/c/versions", null, 200, Body: "[1]", Accept: "*/*"),
    ]);

    [Fact]
    public Task Compatibility_checks_and_config_per_subject_and_global() => RunAsync(
    [
        Get("/config", 200, body: """{"compatibilityLevel":"BACKWARD"}"""),
        Put("/config", """{"compatibility":"SIDEWAYS"}""", 422, 42203),
        Post("/subjects/s/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/compatibility/subjects/s/versions/latest", Body(UserNoDefault), 200, body: """{"is_compatible":false}"""),
        Post("/compatibility/subjects/s/versions/latest?verbose=true", Body(UserNoDefault), 200,
            shape: j => j?["is_compatible"]?.GetValue<bool>() == false && j["messages"] is JsonArray { Count: > 0 }),
        Post("/compatibility/subjects/s/versions/1", Body(UserV2), 200, body: """{"is_compatible":true}"""),
        Post("/compatibility/subjects/s/versions?verbose=true", Body(UserV2), 200, body: """{"is_compatible":true,"messages":[]}"""),
        Post("/compatibility/subjects/s/versions/9", Body(UserV2), 404, 40402),
        Post("/compatibility/subjects/nobody/versions/latest", Body(UserV2), 404, 40401),
        Post("/subjects/s/versions", Body(UserNoDefault), 409, 409),
        Get("/subjects/s/versions", 200, body: "[1]"),
        Get("/config/s", 404, 40408),
        Get("/config/s?defaultToGlobal=true", 200, body: """{"compatibilityLevel":"BACKWARD"}"""),
        Put("/config/s", """{"compatibility":"NONE"}""", 200, body: """{"compatibility":"NONE"}"""),
        Get("/config/s", 200, body: """{"compatibilityLevel":"NONE"}"""),
        Post("/subjects/s/versions", Body(UserNoDefault), 200, body: """{"id":2}"""),
        Delete("/config/s", 200, body: """{"compatibilityLevel":"NONE"}"""),
        Get("/config/s", 404, 40408),
        Put("/config", """{"compatibility":"FULL_TRANSITIVE"}""", 200, body: """{"compatibility":"FULL_TRANSITIVE"}"""),
        Get("/config", 200, body: """{"compatibilityLevel":"FULL_TRANSITIVE"}"""),
        Delete("/config", 200, body: """{"compatibilityLevel":"FULL_TRANSITIVE"}"""),
        Get("/config", 200, body: """{"compatibilityLevel":"BACKWARD"}"""),
    ]);

    [Fact]
    public Task Soft_then_permanent_deletes_follow_confluents_rules_and_ids_are_never_reused() => RunAsync(
    [
        Post("/subjects/d/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Post("/subjects/d/versions", Body(UserV2), 200, body: """{"id":2}"""),
        Delete("/subjects/d/versions/2?permanent=true", 404, 40407),
        Delete("/subjects/d/versions/2", 200, body: "2"),
        Delete("/subjects/d/versions/2", 404, 40406),
        Get("/subjects/d/versions", 200, body: "[1]"),
        Get("/subjects/d/versions?deleted=true", 200, body: "[1,2]"),
        Get("/subjects/d/versions/2", 404, 40402),
        Get("/subjects/d/versions/2?deleted=true", 200, body: Version("d", 2, 2, UserV2)),
        Delete("/subjects/d/versions/2?permanent=true", 200, body: "2"),
        Get("/subjects/d/versions?deleted=true", 200, body: "[1]"),
        Delete("/subjects/d/versions/7", 404, 40402),
        Delete("/subjects/d?permanent=true", 404, 40405),
        Delete("/subjects/d", 200, body: "[1]"),
        Get("/subjects", 200, body: "[]"),
        Get("/subjects?deleted=true", 200, body: """["d"]"""),
        Delete("/subjects/d", 404, 40404),
        Delete("/subjects/d?permanent=true", 200, body: "[1]"),
        Get("/subjects?deleted=true", 200, body: "[]"),
        Get("/schemas/ids/1", 404, 40403),
        Delete("/subjects/d", 404, 40401),
        // Both earlier ids are gone from every subject; a new schema still gets a new id.
        Post("/subjects/e/versions", Body(UserV1), 200, body: """{"id":3}"""),
    ]);

    [Fact]
    public Task References_resolve_and_block_deleting_what_they_reference() => RunAsync(
    [
        Post("/subjects/address/versions", Body(Address), 200, body: """{"id":1}"""),
        Post("/subjects/customer/versions", Body(Customer, references: """[{"name":"acme.Address","subject":"address","version":1}]"""), 200,
            body: """{"id":2}"""),
        Get("/subjects/customer/versions/1", 200,
            shape: j => j?["references"] is JsonArray { Count: 1 } refs && refs[0]!["subject"]!.GetValue<string>() == "address"
                && refs[0]!["version"]!.GetValue<int>() == 1 && refs[0]!["name"]!.GetValue<string>() == "acme.Address"),
        Get("/schemas/ids/2", 200, shape: j => j?["references"] is JsonArray { Count: 1 }),
        Get("/subjects/address/versions/1/referencedby", 200, body: "[2]"),
        Delete("/subjects/address/versions/1", 422, 42206),
        Delete("/subjects/address", 422, 42206),
        Post("/subjects/orphan/versions", Body(Customer, references: """[{"name":"acme.Address","subject":"address","version":5}]"""), 422, 42201),
        Delete("/subjects/customer", 200, body: "[1]"),
        Get("/subjects/address/versions/1/referencedby", 200, body: "[]"),
        Delete("/subjects/address", 200, body: "[1]"),
    ]);

    [Fact]
    public Task Modes_readonly_and_import_with_client_chosen_ids() => RunAsync(
    [
        Get("/mode", 200, body: """{"mode":"READWRITE"}"""),
        Put("/mode", """{"mode":"SIDEWAYS"}""", 422, 42204),
        Post("/subjects/m/versions", Body(UserV1), 200, body: """{"id":1}"""),
        Put("/mode/m", """{"mode":"READONLY"}""", 200, body: """{"mode":"READONLY"}"""),
        Get("/mode/m", 200, body: """{"mode":"READONLY"}"""),
        Post("/subjects/m/versions", Body(UserV2), 422, 42205),
        Delete("/subjects/m", 422, 42205),
        Get("/mode/other", 404, 40409),
        Get("/mode/other?defaultToGlobal=true", 200, body: """{"mode":"READWRITE"}"""),
        Delete("/mode/m", 200, body: """{"mode":"READONLY"}"""),
        Post("/subjects/m/versions", Body(UserV2), 200, body: """{"id":2}"""),
        Post("/subjects/m/versions", """{"schema":"\"string\"","id":50}""", 422, 42205),
        Put("/mode", """{"mode":"IMPORT"}""", 422, 42205),
        Put("/mode?force=true", """{"mode":"IMPORT"}""", 200, body: """{"mode":"IMPORT"}"""),
        Post("/subjects/imported/versions", """{"schema":"\"string\"","id":100,"version":5}""", 200, body: """{"id":100}"""),
        Get("/subjects/imported/versions/5", 200, body: Version("imported", 5, 100, "\"string\"")),
        Post("/subjects/imported/versions", """{"schema":"\"int\"","id":100}""", 422, 42207),
        Post("/subjects/imported/versions", """{"schema":"\"int\""}""", 422, 42205),
        Put("/mode", """{"mode":"READWRITE"}""", 200, body: """{"mode":"READWRITE"}"""),
        // Ids continue above the highest imported one.
        Post("/subjects/after/versions", Body("\"long\""), 200, body: """{"id":101}"""),
    ]);
}
