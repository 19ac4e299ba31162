namespace ConfineExec.Launcher.CommandLine;

/// <summary>Host path resolution without P/Invoke (realpath(3) / <c>readlink -e</c> semantics).</summary>
public static class HostPaths
{
    const int MaxSymlinkHops = 40; // the kernel's MAXSYMLINKS

    /// <summary>Resolves every symlink in absolute <paramref name="path"/>; null if a component is missing
    /// or the links loop.</summary>
    public static string? RealPath(string path)
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
            var info = new FileInfo(current);
            string? link = info.LinkTarget;
            if (link is null)
            {
                if (!info.Exists && !Directory.Exists(current)) return null;
                resolved.Add(part);
                continue;
            }
            if (++hops > MaxSymlinkHops) return null;
            if (link.StartsWith('/')) resolved.Clear();
            foreach (string p in link.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
        }
        return "/" + string.Join('/', resolved);
    }

    /// <summary>lstat()-style existence: true for a dangling symlink too.</summary>
    public static bool Exists(string path) =>
        File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;
}
