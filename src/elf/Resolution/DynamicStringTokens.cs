namespace ConfineExec.Elf;

/// <summary>
/// glibc's dynamic string tokens (<c>is_dst</c>, <c>_dl_dst_substitute</c>): <c>$ORIGIN</c>, <c>$LIB</c>,
/// <c>$PLATFORM</c>, each also as <c>${…}</c>. Without braces the name must not run on into
/// <c>[A-Za-z0-9_]</c> (<c>$ORIGINAL</c> is literal text); any other <c>$</c> is copied as is.
/// </summary>
public static class DynamicStringTokens
{
    /// <summary>True when <paramref name="input"/> holds at least one recognised token.</summary>
    public static bool Contains(string input) => Contains(input, null);

    /// <summary>True when <paramref name="input"/> holds <c>$ORIGIN</c> (either spelling).</summary>
    public static bool ContainsOrigin(string input) => Contains(input, "ORIGIN");

    private static bool Contains(string input, string? only)
    {
        int i = input.IndexOf('$');
        while (i >= 0)
        {
            int len;
            if ((len = TokenLength(input, i + 1, "ORIGIN")) != 0) { if (only is null || only == "ORIGIN") return true; }
            else if ((len = TokenLength(input, i + 1, "PLATFORM")) != 0) { if (only is null) return true; }
            else if ((len = TokenLength(input, i + 1, "LIB")) != 0) { if (only is null) return true; }
            i = input.IndexOf('$', i + 1 + len);
        }
        return false;
    }

    /// <summary>
    /// Substitutes every token. Returns "" when a recognised token has no value (<paramref name="origin"/> null):
    /// glibc then drops the path element, or fails the DT_NEEDED.
    /// </summary>
    public static string Expand(string input, string? origin, string lib, string platform)
    {
        int dollar = input.IndexOf('$');
        if (dollar < 0) return input;
        var sb = new System.Text.StringBuilder(input.Length + 64);
        int i = 0;
        while (dollar >= 0)
        {
            sb.Append(input, i, dollar - i);
            int at = dollar + 1, len;
            string? repl;
            if ((len = TokenLength(input, at, "ORIGIN")) != 0) repl = origin;
            else if ((len = TokenLength(input, at, "PLATFORM")) != 0) repl = platform;
            else if ((len = TokenLength(input, at, "LIB")) != 0) repl = lib;
            else repl = null;

            if (len == 0) { sb.Append('$'); i = at; }
            else if (repl is null) return "";
            else { sb.Append(repl); i = at + len; }
            dollar = input.IndexOf('$', i);
        }
        sb.Append(input, i, input.Length - i);
        return sb.ToString();
    }

    /// <summary>glibc's <c>is_dst</c>: length of the token at <paramref name="at"/> (just after '$'), or 0.</summary>
    private static int TokenLength(string s, int at, string name)
    {
        bool curly = at < s.Length && s[at] == '{';
        int start = curly ? at + 1 : at;
        if (string.CompareOrdinal(s, start, name, 0, name.Length) != 0 || start + name.Length > s.Length) return 0;
        int end = start + name.Length;
        if (curly) return end < s.Length && s[end] == '}' ? name.Length + 2 : 0;
        if (end < s.Length && (char.IsAsciiLetterOrDigit(s[end]) || s[end] == '_')) return 0;
        return name.Length;
    }
}
