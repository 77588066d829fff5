using System.Text;

namespace Tributary.ProtocolGen.Emitting;

/// <summary>Builds C# source with four-space indentation and '\n' line endings whatever the host OS.</summary>
public sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public CodeWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _depth * 4).Append(line);
        }

        _text.Append('\n');
        return this;
    }

    /// <summary>Writes each line of a block produced by another writer, indented to the current depth.</summary>
    public CodeWriter Lines(string block)
    {
        foreach (string line in block.TrimEnd('\n').Split('\n'))
        {
            Line(line);
        }

        return this;
    }

    /// <summary>Writes <paramref name="line"/> (if any) and an opening brace, then indents.</summary>
    public CodeWriter Open(string line)
    {
        if (line.Length > 0)
        {
            Line(line);
        }

        Line("{");
        _depth++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _depth--;
        Line("}" + suffix);
        return this;
    }

    public override string ToString() => _text.ToString();
}
