namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// What the node test double runs for a container: no image is pulled; an image whose repository ends in
/// <c>tributary-broker</c> or <c>tributary-operator</c> runs our built executable of that name with the container's
/// (expanded) args, as its image's entrypoint would. Anything else cannot run here and is reported as such.
/// </summary>
public static class ContainerImages
{
    public const string BrokerRepository = "tributary-broker";
    public const string OperatorRepository = "tributary-operator";

    /// <summary>The repository part of an image reference: no registry path, tag or digest.</summary>
    public static string RepositoryName(string image)
    {
        var withoutDigest = image.Split('@')[0];
        var lastSlash = withoutDigest.LastIndexOf('/');
        var lastSegment = withoutDigest[(lastSlash + 1)..];
        var colon = lastSegment.IndexOf(':');
        return colon < 0 ? lastSegment : lastSegment[..colon];
    }

    /// <summary>
    /// The program and arguments for a container, or an explanation why this double cannot run it. A container
    /// <c>command</c> is honoured only when it names the image's own executable (then its remaining items precede args).
    /// </summary>
    public static (IReadOnlyList<string>? Command, string? Unsupported) Resolve(string image, IReadOnlyList<string> command, IReadOnlyList<string> args)
    {
        var repository = RepositoryName(image);
        string dll;
        if (repository.EndsWith(BrokerRepository, StringComparison.Ordinal))
        {
            dll = RepositoryLayout.BrokerDll;
        }
        else if (repository.EndsWith(OperatorRepository, StringComparison.Ordinal))
        {
            dll = RepositoryLayout.OperatorDll;
        }
        else
        {
            return (null, $"image '{image}' is not one the node test double can run (repository must end in {BrokerRepository} or {OperatorRepository})");
        }

        var arguments = new List<string>();
        if (command.Count > 0)
        {
            var executable = Path.GetFileName(command[0]);
            if (!repository.EndsWith(executable, StringComparison.Ordinal) && executable != Path.GetFileNameWithoutExtension(dll))
            {
                return (null, $"container command '{string.Join(' ', command)}' does not run the image's executable; the node test double runs only that");
            }

            arguments.AddRange(command.Skip(1));
        }

        arguments.AddRange(args);
        if (!File.Exists(dll))
        {
            return (null, $"{dll} is not built");
        }

        return ([RepositoryLayout.DotnetHost, dll, .. arguments], null);
    }
}
