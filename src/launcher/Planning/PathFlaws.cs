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
        // One pass over the characters: the planner scans every path of a plan several times (thousands of binds),
        // and an IndexOf per component cost more than the components are long.
        PathFlaws flaws = PathFlaws.None;
        int start = path.Length > 0 && path[0] == '/' ? 1 : 0;
        for (int i = start; ; i++)
        {
            if (i < path.Length && path[i] != '/') continue;
            int n = i - start;
            if (n == 0) flaws |= PathFlaws.Empty;
            else if (n == 1 && path[start] == '.') flaws |= PathFlaws.Dot;
            else if (n == 2 && path[start] == '.' && path[start + 1] == '.') flaws |= PathFlaws.DotDot;
            if (i == path.Length) return flaws;
            start = i + 1;
        }
    }
}
