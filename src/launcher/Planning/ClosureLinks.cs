using ConfineExec.Elf;

namespace ConfineExec.Launcher.Planning;

/// <summary>
/// Resolves paths through the symlinks recorded in a closure, as they will exist inside the root (every link
/// on the way to a closure path is in the closure, so no host access is needed).
/// </summary>
public sealed class ClosureLinks
{
    readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

    public ClosureLinks(IEnumerable<ClosureEntry> entries)
    {
        foreach (ClosureEntry e in entries)
            if (e.Kind == ClosureEntryKind.Symlink && e.Target is not null) _links.TryAdd(e.Path, e.Target);
    }

    /// <summary>The path with every recorded symlink followed (lexically, components not in the closure pass
    /// through unchanged); null if the links loop.</summary>
    public string? Resolve(string path) => SymlinkWalk.Resolve(path, InRoot);

    bool InRoot(string prefix, out string? link)
    {
        _links.TryGetValue(prefix, out link);
        return true;
    }
}
