namespace Tributary.Protocol;

/// <summary>Thrown when a message is read or written in an API key or version we do not serve.</summary>
/// <remarks>
/// The request path should check <c>ApiCatalog.TryGet</c> first and answer UNSUPPORTED_VERSION (35) as a value;
/// reaching this exception means that check was skipped.
/// </remarks>
public sealed class UnsupportedVersionException : Exception
{
    public UnsupportedVersionException(short apiKey, short version)
        : base($"API key {apiKey} version {version} is not supported")
    {
        ApiKey = apiKey;
        Version = version;
    }

    public short ApiKey { get; }

    public short Version { get; }
}
