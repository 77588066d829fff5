using System.Text;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// Kubernetes' <c>$(VAR)</c> expansion for container env values, command and args, as the kubelet applies it: a defined
/// name is replaced, an undefined one is left as written, <c>$$</c> is an escaped <c>$</c>, and any other <c>$</c> stays.
/// </summary>
public static class KubernetesExpansion
{
    public static string Expand(string input, Func<string, string?> lookup)
    {
        var output = new StringBuilder(input.Length);
        var i = 0;
        while (i < input.Length)
        {
            var c = input[i];
            if (c != '$' || i + 1 >= input.Length)
            {
                output.Append(c);
                i++;
                continue;
            }

            var next = input[i + 1];
            if (next == '$')
            {
                output.Append('$');
                i += 2;
            }
            else if (next == '(')
            {
                var close = input.IndexOf(')', i + 2);
                if (close < 0)
                {
                    // An unterminated reference is copied as it is.
                    output.Append("$(");
                    i += 2;
                    continue;
                }

                var name = input[(i + 2)..close];
                output.Append(lookup(name) ?? "$(" + name + ")");
                i = close + 1;
            }
            else
            {
                output.Append('$').Append(next);
                i += 2;
            }
        }

        return output.ToString();
    }
}
