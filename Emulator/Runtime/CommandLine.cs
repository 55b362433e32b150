using System.Text;

namespace Nvcf.Emulator.Runtime;

/// <summary>Splits <c>containerArgs</c> into arguments the way a POSIX shell would (quotes and backslashes, no expansion).</summary>
public static class CommandLine
{
    public static IReadOnlyList<string> Split(string commandLine)
    {
        var args = new List<string>();
        var current = new StringBuilder();
        var inArgument = false;
        char? quote = null;

        for (var i = 0; i < commandLine.Length; i++)
        {
            var c = commandLine[i];
            if (quote is '\'')
            {
                if (c == '\'')
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '\\' && i + 1 < commandLine.Length && (quote is null || commandLine[i + 1] is '"' or '\\' or '$' or '`'))
            {
                current.Append(commandLine[++i]);
                inArgument = true;
            }
            else if (quote is '"')
            {
                if (c == '"')
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inArgument = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inArgument)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    inArgument = false;
                }
            }
            else
            {
                current.Append(c);
                inArgument = true;
            }
        }

        if (quote is not null)
        {
            throw new FormatException($"Unterminated {quote} quote in '{commandLine}'.");
        }

        if (inArgument)
        {
            args.Add(current.ToString());
        }

        return args;
    }
}
