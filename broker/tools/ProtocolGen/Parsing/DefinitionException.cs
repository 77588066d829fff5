namespace Tributary.ProtocolGen.Parsing;

/// <summary>A definition file is wrong; the message reads "File.kmsg:line: what is wrong".</summary>
public sealed class DefinitionException : Exception
{
    public DefinitionException(string file, int line, string problem)
        : base($"{file}:{line}: {problem}")
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public string File { get; }

    public int Line { get; }

    public string Problem { get; }
}
