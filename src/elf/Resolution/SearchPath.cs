namespace ConfineExec.Elf;

/// <summary>
/// One search list as glibc's <c>decompose_rpath</c>/<c>fillin_rpath</c> build it: split on the separators,
/// DSTs expanded (an element whose token has no value is dropped), trailing slashes trimmed to one, an empty
/// element kept as "" (the process's working directory), duplicates removed keeping the first.
/// </summary>
public sealed class SearchPath
{
    /// <summary>Directories, each "" or ending in '/', possibly relative (to the target's working directory).</summary>
    public string[] Directories { get; }

    /// <summary>Where the list came from, for reasons: <c>RPATH</c>, <c>RUNPATH</c>, <c>LD_LIBRARY_PATH</c>, <c>default path</c>.</summary>
    public string Source { get; }

    public SearchPath(string[] directories, string source)
    {
        Directories = directories;
        Source = source;
    }

    /// <summary>Null when the list is empty after decomposition (glibc then treats it as absent).</summary>
    public static SearchPath? Parse(string value, char[] separators, string? origin, string lib, string platform, string source)
    {
        if (value.Length == 0) return null;
        var dirs = new List<string>();
        int start = 0;
        while (true)
        {
            int end = value.IndexOfAny(separators, start);
            if (end < 0) end = value.Length;
            string element = value.Substring(start, end - start);
            if (element.Length != 0)
            {
                element = DynamicStringTokens.Expand(element, origin, lib, platform);
                if (element.Length != 0)
                {
                    int len = element.Length;
                    while (len > 1 && element[len - 1] == '/') len--;
                    element = element[len - 1] == '/' ? element[..len] : string.Concat(element.AsSpan(0, len), "/");
                }
                else element = null!;
            }
            if (element is not null && !dirs.Contains(element)) dirs.Add(element);
            if (end == value.Length) break;
            start = end + 1;
        }
        return dirs.Count == 0 ? null : new SearchPath(dirs.ToArray(), source);
    }
}
