namespace Tributary.SchemaRegistry.Api;

/// <summary>An expected refusal with Confluent's HTTP status, error code and message
/// (<c>{"error_code":40401,"message":"Subject 'x' not found."}</c>).</summary>
public sealed class RegistryException(int status, int errorCode, string message) : Exception(message)
{
    public int Status { get; } = status;
    public int ErrorCode { get; } = errorCode;

    public static RegistryException SubjectNotFound(string subject) => new(404, 40401, $"Subject '{subject}' not found.");
    public static RegistryException VersionNotFound(int version) => new(404, 40402, $"Version {version} not found.");
    public static RegistryException SchemaNotFound() => new(404, 40403, "Schema not found");
    public static RegistryException SchemaIdNotFound(int id) => new(404, 40403, $"Schema {id} not found");
    public static RegistryException SubjectSoftDeleted(string subject) =>
        new(404, 40404, $"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently");
    public static RegistryException SubjectNotSoftDeleted(string subject) =>
        new(404, 40405, $"Subject '{subject}' was not deleted first before being permanently deleted");
    public static RegistryException VersionSoftDeleted(string subject, int version) =>
        new(404, 40406, $"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently");
    public static RegistryException VersionNotSoftDeleted(string subject, int version) =>
        new(404, 40407, $"Subject '{subject}' Version {version} was not deleted first before being permanently deleted");
    public static RegistryException SubjectConfigNotFound(string subject) =>
        new(404, 40408, $"Subject '{subject}' does not have subject-level compatibility configured");
    public static RegistryException SubjectModeNotFound(string subject) =>
        new(404, 40409, $"Subject '{subject}' does not have subject-level mode configured");
    public static RegistryException Incompatible(string details) => new(409, 409, details);
    public static RegistryException InvalidSchema(string message) => new(422, 42201, message);
    public static RegistryException InvalidVersion(string version) => new(422, 42202,
        $"The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"");
    public static RegistryException InvalidCompatibility() => new(422, 42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive");
    public static RegistryException InvalidMode(string mode) => new(422, 42204,
        $"Invalid mode {mode}. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT");
    public static RegistryException OperationNotPermitted(string message) => new(422, 42205, message);
    public static RegistryException ReferenceExists(string subject, int version) => new(422, 42206,
        $"One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={version}}}.");
    public static RegistryException IdMismatch(string message) => new(422, 42207, message);
    public static RegistryException InvalidSubject(string subject) => new(422, 42208, $"Invalid subject {subject}");
    public static RegistryException StoreError(string message) => new(500, 50001, message);
    public static RegistryException Timeout(string message) => new(500, 50002, message);
    public static RegistryException ForwardingFailed(string message) => new(500, 50003, message);
    public static RegistryException UnknownLeader() => new(500, 50004, "Unknown leader: no schema registry instance is the elected writer right now");
}
