namespace ConfineExec.Launcher.Planning;

/// <summary>systemd's path_compare(): component by component, ordinal, so <c>/a</c> sorts before
/// <c>/a/b</c> before <c>/a-b</c> — every path after all of its ancestors.</summary>
public sealed class PathComparer : IComparer<string>
{
    public static readonly PathComparer Instance = new();

    /// <summary>Compares in place, component by component (empty components skipped); no allocation, since the
    /// planner sorts every mount with it (the Split-based form cost 0.16 M instructions for true's ~40 ops).</summary>
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        // Fast path: at the first differing char, if both are inside the same component (two ordinary chars, or
        // one component ending mid-way where the other goes on), the char order is the component order.
        int k = x.AsSpan().CommonPrefixLength(y);
        bool endX = k == x.Length || x[k] == '/', endY = k == y.Length || y[k] == '/';
        if (!endX && !endY) return x[k].CompareTo(y[k]);
        if (k > 0 && x[k - 1] != '/' && endX != endY) return endX ? -1 : 1;
        return CompareByComponents(x, y);
    }

    private static int CompareByComponents(string x, string y)
    {
        int i = 0, j = 0;
        while (true)
        {
            while (i < x.Length && x[i] == '/') i++;
            while (j < y.Length && y[j] == '/') j++;
            if (i == x.Length || j == y.Length)
                return (i == x.Length ? 0 : 1) - (j == y.Length ? 0 : 1); // fewer components first
            int endX = x.IndexOf('/', i), endY = y.IndexOf('/', j);
            if (endX < 0) endX = x.Length;
            if (endY < 0) endY = y.Length;
            int c = x.AsSpan(i, endX - i).SequenceCompareTo(y.AsSpan(j, endY - j));
            if (c != 0) return c;
            i = endX;
            j = endY;
        }
    }
}
