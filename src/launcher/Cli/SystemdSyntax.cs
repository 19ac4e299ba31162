using System.Text;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// systemd's value syntax for the directives confine-exec accepts: parse_boolean(), extract_first_word() with
/// EXTRACT_UNQUOTE (whitespace-separated words, "…"/'…' quoting, backslash escapes), the BindPaths= entry
/// grammar and parse_mode() for UMask=. Each parser throws <see cref="UsageException"/> naming the directive.
/// </summary>
public static class SystemdSyntax
{
    /// <summary>parse_boolean(): 1/yes/y/true/t/on and 0/no/n/false/f/off, case-insensitive.</summary>
    public static bool TryParseBoolean(string value, out bool result)
    {
        switch (value.ToLowerInvariant())
        {
            case "1" or "yes" or "y" or "true" or "t" or "on": result = true; return true;
            case "0" or "no" or "n" or "false" or "f" or "off": result = false; return true;
            default: result = false; return false;
        }
    }

    public static bool ParseBoolean(string name, string value) =>
        TryParseBoolean(value, out bool b) ? b
            : throw new UsageException(name, value, "not a boolean (yes/no, true/false, on/off, 1/0)");

    /// <summary>Whitespace-separated words; quotes group, a backslash escapes the next character
    /// (C escapes \n \t \\ \" \' are decoded). An unterminated quote is an error.</summary>
    public static List<string> SplitWords(string name, string value)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\\')
            {
                if (++i == value.Length) throw new UsageException(name, value, "trailing backslash");
                word.Append(Unescape(value[i]));
                inWord = true;
            }
            else if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else word.Append(c);
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(word.ToString()); word.Clear(); inWord = false; }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote != '\0') throw new UsageException(name, value, "unterminated quote");
        if (inWord) words.Add(word.ToString());
        return words;
    }

    static char Unescape(char c) => c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => c };

    /// <summary>A BindPaths=/BindReadOnlyPaths= value: whitespace-separated <c>[-]SRC[:DEST[:rbind|norbind]]</c>
    /// entries; <c>\:</c> is a literal colon; SRC and DEST must be absolute.</summary>
    public static List<BindSpec> ParseBindPaths(string name, string value, bool readOnly)
    {
        // One bare path (the usual form, thousands of times in one command line) is its own single field: no
        // split, field list or enumerator for it.
        if (!value.Contains(':') && IsOneUnquotedEntry(value))
            return [Entry(name, value, value, null, null, readOnly)];
        var specs = new List<BindSpec>();
        foreach (List<string> fields in SplitBindEntries(name, value))
        {
            if (fields.Count > 3) throw new UsageException(name, value, "expected [-]SRC[:DEST[:rbind|norbind]]");
            specs.Add(Entry(name, value, fields[0], fields.Count > 1 ? fields[1] : null, fields.Count == 3 ? fields[2] : null, readOnly));
        }
        return specs;
    }

    /// <summary>One <c>[-]SRC[:DEST[:OPTION]]</c> entry of <paramref name="value"/>, from its fields.</summary>
    static BindSpec Entry(string name, string value, string source, string? dest, string? option, bool readOnly)
    {
        bool ignoreMissing = source.StartsWith('-');
        if (ignoreMissing) source = source[1..];
        bool recursive = option switch
        {
            null or "" or "rbind" => true,
            "norbind" => false,
            var o => throw new UsageException(name, o, "unknown bind option (expected rbind or norbind)"),
        };
        RequireAbsolute(name, source, "source");
        source = NormalizePath(source);
        if (dest is null)
            return new BindSpec(source, source, readOnly, ignoreMissing, recursive);
        RequireAbsolute(name, dest, "destination");
        return new BindSpec(source, NormalizePath(dest), readOnly, ignoreMissing, recursive);
    }

    static IEnumerable<List<string>> SplitBindEntries(string name, string value)
    {
        if (IsOneUnquotedEntry(value))
        {
            // No escape, quote or blank: one entry, its fields split at ':' (the loop below would build the same).
            yield return [.. value.Split(':')];
            yield break;
        }
        var fields = new List<string>();
        var field = new StringBuilder();
        bool inEntry = false;
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\\')
            {
                if (++i == value.Length) throw new UsageException(name, value, "trailing backslash");
                field.Append(Unescape(value[i]));
                inEntry = true;
            }
            else if (quote != '\0')
            {
                if (c == quote) quote = '\0'; else field.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; inEntry = true; }
            else if (c == ':') { fields.Add(field.ToString()); field.Clear(); inEntry = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inEntry) { fields.Add(field.ToString()); field.Clear(); yield return fields; fields = []; inEntry = false; }
            }
            else { field.Append(c); inEntry = true; }
        }
        if (quote != '\0') throw new UsageException(name, value, "unterminated quote");
        if (inEntry) { fields.Add(field.ToString()); yield return fields; }
    }

    static bool IsOneUnquotedEntry(string value)
    {
        if (value.Length == 0) return false;
        foreach (char c in value)
            if (c is '\\' or '"' or '\'' || char.IsWhiteSpace(c)) return false;
        return true;
    }

    /// <summary>parse_mode(): octal, at most 07777.</summary>
    public static int ParseMode(string name, string value)
    {
        if (value.Length == 0 || value.Length > 5) throw new UsageException(name, value, "not an octal mode (0000-07777)");
        int mode = 0;
        foreach (char c in value)
        {
            if (c is < '0' or > '7') throw new UsageException(name, value, "not an octal mode (0000-07777)");
            mode = mode * 8 + (c - '0');
        }
        return mode <= 0xfff ? mode : throw new UsageException(name, value, "not an octal mode (0000-07777)");
    }

    public static void RequireAbsolute(string name, string path, string role)
    {
        if (!path.StartsWith('/')) throw new UsageException(name, path, $"{role} must be an absolute path");
        if ((PathFlawsOf.Scan(path) & PathFlaws.DotDot) != 0)
            throw new UsageException(name, path, $"{role} must not contain '..'");
    }

    /// <summary>Removes duplicate and trailing slashes and <c>.</c> components (never <c>..</c>: callers reject it).</summary>
    public static string NormalizePath(string path)
    {
        if (IsNormal(path))
            return path; // the common case, without splitting and joining (3000 binds: 25 M instructions)
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");
        return "/" + string.Join('/', parts);
    }

    /// <summary>Already what <see cref="NormalizePath"/> returns: "/", or '/' then components that are neither
    /// empty nor ".", with no trailing '/'.</summary>
    static bool IsNormal(string path) =>
        path == "/" || (path.StartsWith('/') && (PathFlawsOf.Scan(path) & (PathFlaws.Empty | PathFlaws.Dot)) == 0);

    /// <summary>A relative directory name for StateDirectory=/RuntimeDirectory= (may contain '/', never '..').</summary>
    public static string ParseDirectoryName(string name, string value)
    {
        if (value.StartsWith('/')) throw new UsageException(name, value, "must be a relative directory name");
        string[] parts = value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new UsageException(name, value, "must be a relative directory name without '.' or '..'");
        return string.Join('/', parts);
    }

    /// <summary>One Environment= word: KEY=VALUE with KEY a valid variable name.</summary>
    public static KeyValuePair<string, string> ParseAssignment(string name, string word)
    {
        int eq = word.IndexOf('=');
        if (eq <= 0) throw new UsageException(name, word, "expected KEY=VALUE");
        string key = word[..eq];
        if (!(char.IsAsciiLetter(key[0]) || key[0] == '_') || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new UsageException(name, word, "not a valid variable name");
        return new(key, word[(eq + 1)..]);
    }

    /// <summary>valid_user_group_name() in its relaxed form: no empty name, no ':', '/', whitespace or
    /// leading '-', at most 256 bytes.</summary>
    public static void RequireValidName(string name, string value)
    {
        if (value.Length == 0 || value.Length > 256 || value[0] == '-' || value.Any(c => c is ':' or '/' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new UsageException(name, value, "not a valid user or group name");
    }
}
