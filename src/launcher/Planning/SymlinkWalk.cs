namespace ConfineExec.Launcher.Planning;

/// <summary>
/// The one component-by-component symlink walk used for host paths (<c>HostPaths.RealPath</c>) and for paths as
/// they will exist inside the root (<see cref="ClosureLinks"/>): an absolute link target restarts at "/", a
/// relative one continues from the link's directory, ".." drops the last resolved component (after a link, so
/// it climbs from the link's target, as the kernel does), and more than 40 links is a loop.
/// </summary>
public static class SymlinkWalk
{
    public const int MaxSymlinkHops = 40; // the kernel's MAXSYMLINKS

    /// <summary>Looks one absolute prefix up: false when it does not exist (the walk then fails); otherwise
    /// <paramref name="link"/> is its link text, or null when it is not a symlink.</summary>
    public delegate bool Lookup(string prefix, out string? link);

    /// <summary>The resolved absolute path, or null when a component is missing or the links loop.</summary>
    public static string? Resolve(string path, Lookup lookup)
    {
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == ".") continue;
            if (part == "..") { if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1); continue; }
            string current = "/" + string.Join('/', resolved.Append(part));
            if (!lookup(current, out string? link)) return null;
            if (link is null) { resolved.Add(part); continue; }
            if (++hops > MaxSymlinkHops) return null;
            if (link.StartsWith('/')) resolved.Clear();
            foreach (string p in link.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
        }
        return "/" + string.Join('/', resolved);
    }
}
