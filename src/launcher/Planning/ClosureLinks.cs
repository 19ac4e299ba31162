using ConfineExec.Elf;

namespace ConfineExec.Launcher.Planning;

/// <summary>
/// Resolves paths through the symlinks recorded in a closure, as they will exist inside the root (every link
/// on the way to a closure path is in the closure, so no host access is needed).
/// </summary>
public sealed class ClosureLinks
{
    const int MaxSymlinkHops = 40;
    readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

    public ClosureLinks(IEnumerable<ClosureEntry> entries)
    {
        foreach (ClosureEntry e in entries)
            if (e.Kind == ClosureEntryKind.Symlink && e.Target is not null) _links.TryAdd(e.Path, e.Target);
    }

    /// <summary>The path with every recorded symlink followed (lexically, components not in the closure pass
    /// through unchanged); null if the links loop.</summary>
    public string? Resolve(string path)
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
            if (!_links.TryGetValue(current, out string? target)) { resolved.Add(part); continue; }
            if (++hops > MaxSymlinkHops) return null;
            if (target.StartsWith('/')) resolved.Clear();
            foreach (string p in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
        }
        return "/" + string.Join('/', resolved);
    }
}
