namespace ConfineExec.Launcher.Planning;

/// <summary>systemd's path_compare(): component by component, ordinal, so <c>/a</c> sorts before
/// <c>/a/b</c> before <c>/a-b</c> — every path after all of its ancestors.</summary>
public sealed class PathComparer : IComparer<string>
{
    public static readonly PathComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var a = x.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var b = y.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            int c = string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }
}
