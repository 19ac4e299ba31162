using System.Text;

namespace ConfineExec.Elf;

/// <summary>
/// A <c>#!</c> line as the kernel's <c>binfmt_script</c> (Linux ≥ 5.1) parses it from the first 256 bytes:
/// blanks after <c>#!</c> skipped, the interpreter up to the first space, tab or NUL, the rest (trimmed) one
/// optional argument. No newline in the buffer and no terminator after the interpreter means a truncated
/// interpreter path, which the kernel refuses (ENOEXEC).
/// </summary>
public sealed record Shebang(string Interpreter, string? Argument)
{
    public const int BufferSize = 256;

    /// <summary>Null when the bytes are not an acceptable <c>#!</c> script head.</summary>
    public static Shebang? TryParse(ReadOnlySpan<byte> head)
    {
        if (head.Length < 2 || head[0] != '#' || head[1] != '!') return null;
        Span<byte> buf = stackalloc byte[BufferSize];
        buf.Clear();
        head[..Math.Min(head.Length, BufferSize)].CopyTo(buf);
        int bufEnd = BufferSize - 1;

        int iEnd = buf.IndexOf((byte)'\n');
        if (iEnd < 0)
        {
            int first = NextNonSpaceTab(buf, 2, bufEnd);
            if (first < 0) return null;
            if (NextTerminator(buf, first, bufEnd) < 0) return null;
            iEnd = bufEnd;
        }
        while (iEnd > 2 && IsSpaceTab(buf[iEnd - 1])) iEnd--;
        int iName = NextNonSpaceTab(buf, 2, iEnd);
        if (iName < 0 || iName == iEnd) return null;
        string? arg = null;
        int iSep = NextTerminator(buf, iName, iEnd);
        int nameEnd = iSep < 0 ? iEnd : iSep;
        if (iSep >= 0 && buf[iSep] != 0)
        {
            int iArg = NextNonSpaceTab(buf, iSep, iEnd);
            if (iArg >= 0)
            {
                var a = buf[iArg..iEnd];
                int nul = a.IndexOf((byte)0);
                if (nul >= 0) a = a[..nul];
                if (a.Length > 0) arg = Encoding.UTF8.GetString(a);
            }
        }
        return new Shebang(Encoding.UTF8.GetString(buf[iName..nameEnd]), arg);
    }

    private static bool IsSpaceTab(byte c) => c == ' ' || c == '\t';

    private static int NextNonSpaceTab(ReadOnlySpan<byte> b, int from, int end)
    {
        for (int i = from; i < end; i++) if (!IsSpaceTab(b[i])) return i;
        return -1;
    }

    private static int NextTerminator(ReadOnlySpan<byte> b, int from, int end)
    {
        for (int i = from; i < end; i++) if (IsSpaceTab(b[i]) || b[i] == 0) return i;
        return -1;
    }

    /// <summary>
    /// For an <c>env</c> interpreter, the program env will run: the first operand after env's options and
    /// NAME=VALUE assignments; with <c>-S</c> (or <c>--split-string</c>) the argument is split on blanks first.
    /// Null when there is none (env alone prints the environment).
    /// </summary>
    public static string? EnvCommand(string? argument)
    {
        if (argument is null) return null;
        string[] words;
        if (argument.StartsWith("-S", StringComparison.Ordinal) || argument.StartsWith("--split-string", StringComparison.Ordinal))
        {
            string rest = argument.StartsWith("-S", StringComparison.Ordinal) ? argument[2..] : argument["--split-string".Length..].TrimStart('=');
            words = rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        }
        else words = [argument];
        for (int i = 0; i < words.Length; i++)
        {
            string w = words[i];
            if (w is "-u" or "--unset" or "-C" or "--chdir") { i++; continue; }
            if (w.StartsWith('-') && w != "-") continue;
            if (w.Contains('=')) continue;
            return w.Trim('"', '\'');
        }
        return null;
    }
}
