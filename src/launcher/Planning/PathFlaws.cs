namespace ConfineExec.Launcher.Planning;

/// <summary>What is wrong with a path's components, found in one allocation-free scan (every bind passes
/// several such checks: the Split-based forms cost ~3,000 instructions each).</summary>
[Flags]
public enum PathFlaws
{
    None = 0,
    /// <summary>An empty component: "//", or a trailing '/'.</summary>
    Empty = 1,
    /// <summary>A "." component.</summary>
    Dot = 2,
    /// <summary>A ".." component.</summary>
    DotDot = 4,
}

public static class PathFlawsOf
{
    /// <summary>The flaws of the components after the leading '/' (of all of them if there is none); "/" alone
    /// is one empty component.</summary>
    public static PathFlaws Scan(string path)
    {
        PathFlaws flaws = PathFlaws.None;
        int start = path.StartsWith('/') ? 1 : 0;
        while (true)
        {
            int end = path.IndexOf('/', start);
            if (end < 0) end = path.Length;
            int n = end - start;
            if (n == 0) flaws |= PathFlaws.Empty;
            else if (n == 1 && path[start] == '.') flaws |= PathFlaws.Dot;
            else if (n == 2 && path[start] == '.' && path[start + 1] == '.') flaws |= PathFlaws.DotDot;
            if (end == path.Length) return flaws;
            start = end + 1;
        }
    }
}
