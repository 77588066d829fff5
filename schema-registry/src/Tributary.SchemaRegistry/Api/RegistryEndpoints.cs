using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tributary.SchemaRegistry.Election;
using Tributary.SchemaRegistry.Schemas;
using Tributary.SchemaRegistry.Storage;
using static Tributary.SchemaRegistry.Api.RestSupport;

namespace Tributary.SchemaRegistry.Api;

/// <summary>Confluent's REST API. Reads are answered from this instance's replay; writes run on the elected writer and
/// are forwarded there by the others.</summary>
internal sealed class RegistryEndpoints(RegistryService service, LeaderElector elector, WriteForwarder forwarder, long maxRequestBytes)
{
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", context => WriteJsonAsync(context, new JsonObject()));
        // Tributary's own (not Confluent's): which instance is the elected writer, as this instance sees it.
        app.MapGet("/tributary/leader", context =>
        {
            var leader = elector.Leader;
            return WriteJsonAsync(context, new JsonObject
            {
                ["leader"] = leader?.Url,
                ["isSelf"] = leader?.IsSelf ?? false,
                ["generation"] = leader?.Generation ?? -1,
            });
        });
        app.MapGet("/schemas/types", context => WriteJsonAsync(context, Array(new[] { "JSON", "PROTOBUF", "AVRO" })));

        app.MapGet("/schemas/ids/{id}", (HttpContext c, string id) => WriteJsonAsync(c, SchemaJson(service.SchemaById(ParseId(id)))));
        app.MapGet("/schemas/ids/{id}/schema", (HttpContext c, string id) => WriteRawSchemaAsync(c, service.SchemaById(ParseId(id)).Schema));
        app.MapGet("/schemas/ids/{id}/subjects", (HttpContext c, string id) =>
            WriteJsonAsync(c, Array(service.SubjectsOfId(ParseId(id), Flag(c, "deleted")))));
        app.MapGet("/schemas/ids/{id}/versions", (HttpContext c, string id) =>
        {
            var result = new JsonArray();
            foreach (var v in service.VersionsOfId(ParseId(id), Flag(c, "deleted")))
            {
                result.Add(new JsonObject { ["subject"] = v.Subject, ["version"] = v.Version });
            }

            return WriteJsonAsync(c, result);
        });

        app.MapGet("/subjects", (HttpContext c) =>
            WriteJsonAsync(c, Array(service.Subjects(Flag(c, "deleted"), c.Request.Query["subjectPrefix"].FirstOrDefault()))));
        app.MapGet("/subjects/{subject}/versions", (HttpContext c, string subject) =>
            WriteJsonAsync(c, Array(service.Versions(subject, Flag(c, "deleted")))));
        app.MapGet("/subjects/{subject}/versions/{version}", (HttpContext c, string subject, string version) =>
            WriteJsonAsync(c, VersionJson(service.Version(subject, version, Flag(c, "deleted")))));
        app.MapGet("/subjects/{subject}/versions/{version}/schema", (HttpContext c, string subject, string version) =>
            WriteRawSchemaAsync(c, service.Version(subject, version, Flag(c, "deleted")).Schema));
        app.MapGet("/subjects/{subject}/versions/{version}/referencedby", (HttpContext c, string subject, string version) =>
            WriteJsonAsync(c, Array(service.ReferencedBy(subject, version))));

        app.MapPost("/subjects/{subject}", async (HttpContext c, string subject) =>
        {
            var request = SchemaRequest.Parse(await ReadBodyAsync(c, maxRequestBytes));
            await WriteJsonAsync(c, VersionJson(service.Lookup(subject, request, Flag(c, "normalize"), Flag(c, "deleted"))));
        });

        app.MapPost("/subjects/{subject}/versions", (HttpContext c, string subject) => WriteAsync(c, async (body, ct) =>
        {
            var request = SchemaRequest.Parse(body);
            int id = await service.RegisterAsync(subject, request, Flag(c, "normalize"), ct);
            await WriteJsonAsync(c, new JsonObject { ["id"] = id });
        }));
        app.MapDelete("/subjects/{subject}", (HttpContext c, string subject) => WriteAsync(c, async (_, ct) =>
            await WriteJsonAsync(c, Array(await service.DeleteSubjectAsync(subject, Flag(c, "permanent"), ct)))));
        app.MapDelete("/subjects/{subject}/versions/{version}", (HttpContext c, string subject, string version) => WriteAsync(c, async (_, ct) =>
            await WriteJsonAsync(c, JsonValue.Create(await service.DeleteVersionAsync(subject, version, Flag(c, "permanent"), ct)))));

        app.MapGet("/config", c => WriteJsonAsync(c, ConfigJson(service.EffectiveCompatibility(null))));
        app.MapGet("/config/{subject}", (HttpContext c, string subject) =>
            WriteJsonAsync(c, ConfigJson(service.SubjectConfig(subject, Flag(c, "defaultToGlobal")))));
        app.MapPut("/config", c => WriteAsync(c, async (body, ct) => await PutConfigAsync(c, null, body, ct)));
        app.MapPut("/config/{subject}", (HttpContext c, string subject) => WriteAsync(c, async (body, ct) => await PutConfigAsync(c, subject, body, ct)));
        app.MapDelete("/config", c => WriteAsync(c, async (_, ct) => await WriteJsonAsync(c, ConfigJson(await service.DeleteConfigAsync(null, ct)))));
        app.MapDelete("/config/{subject}", (HttpContext c, string subject) => WriteAsync(c, async (_, ct) =>
            await WriteJsonAsync(c, ConfigJson(await service.DeleteConfigAsync(subject, ct)))));

        app.MapGet("/mode", c => WriteJsonAsync(c, ModeJson(service.EffectiveMode(null))));
        app.MapGet("/mode/{subject}", (HttpContext c, string subject) =>
            WriteJsonAsync(c, ModeJson(service.SubjectMode(subject, Flag(c, "defaultToGlobal")))));
        app.MapPut("/mode", c => WriteAsync(c, async (body, ct) => await PutModeAsync(c, null, body, ct)));
        app.MapPut("/mode/{subject}", (HttpContext c, string subject) => WriteAsync(c, async (body, ct) => await PutModeAsync(c, subject, body, ct)));
        app.MapDelete("/mode", c => WriteAsync(c, async (_, ct) => await WriteJsonAsync(c, ModeJson(await service.DeleteModeAsync(null, ct)))));
        app.MapDelete("/mode/{subject}", (HttpContext c, string subject) => WriteAsync(c, async (_, ct) =>
            await WriteJsonAsync(c, ModeJson(await service.DeleteModeAsync(subject, ct)))));

        app.MapPost("/compatibility/subjects/{subject}/versions/{version}", (HttpContext c, string subject, string version) =>
            CompatibilityAsync(c, subject, version));
        app.MapPost("/compatibility/subjects/{subject}/versions", (HttpContext c, string subject) => CompatibilityAsync(c, subject, null));
    }

    private static int ParseId(string id) =>
        int.TryParse(id, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new RegistryException(404, 40403, $"Schema {id} not found");

    private static JsonObject ConfigJson(CompatibilityLevel level) => new() { ["compatibilityLevel"] = SchemaTypeNames.ToName(level) };

    private static JsonObject ModeJson(RegistryMode mode) => new() { ["mode"] = RegistryModeNames.ToName(mode) };

    private static JsonObject ParseObject(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw new RegistryException(400, 400, "The request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new RegistryException(400, 400, $"Unrecognized JSON: {e.Message}");
        }
    }

    private async Task PutConfigAsync(HttpContext context, string? subject, byte[] body, CancellationToken cancellationToken)
    {
        var node = ParseObject(body);
        string? name = node["compatibility"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        if (!SchemaTypeNames.TryParse(name, out CompatibilityLevel level))
        {
            throw RegistryException.InvalidCompatibility();
        }

        await service.SetConfigAsync(subject, level, cancellationToken);
        await WriteJsonAsync(context, new JsonObject { ["compatibility"] = SchemaTypeNames.ToName(level) });
    }

    private async Task PutModeAsync(HttpContext context, string? subject, byte[] body, CancellationToken cancellationToken)
    {
        var node = ParseObject(body);
        string? name = node["mode"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        if (!RegistryModeNames.TryParse(name, out RegistryMode mode))
        {
            throw RegistryException.InvalidMode(name ?? "null");
        }

        await service.SetModeAsync(subject, mode, Flag(context, "force"), cancellationToken);
        await WriteJsonAsync(context, ModeJson(mode));
    }

    private async Task CompatibilityAsync(HttpContext context, string subject, string? version)
    {
        var request = SchemaRequest.Parse(await ReadBodyAsync(context, maxRequestBytes));
        var messages = service.TestCompatibility(subject, version, request, Flag(context, "normalize"));
        var result = new JsonObject { ["is_compatible"] = messages.Count == 0 };
        if (Flag(context, "verbose"))
        {
            result["messages"] = Array(messages);
        }

        await WriteJsonAsync(context, result);
    }

    /// <summary>Runs a write here when this instance is the writer, else forwards the request to the writer.</summary>
    private async Task WriteAsync(HttpContext context, Func<byte[], CancellationToken, Task> local)
    {
        byte[] body = await ReadBodyAsync(context, maxRequestBytes);
        var leader = elector.Leader ?? await elector.WaitForLeaderAsync(TimeSpan.FromSeconds(10), context.RequestAborted)
            ?? throw RegistryException.UnknownLeader();
        if (leader.IsSelf)
        {
            await local(body, context.RequestAborted);
            return;
        }

        await forwarder.ForwardAsync(context, leader, body);
    }
}
