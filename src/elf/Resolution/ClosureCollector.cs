namespace ConfineExec.Elf;

/// <summary>
/// Accumulates closure entries: each path added is walked by <see cref="SymlinkChain"/>, every link met becomes
/// a Symlink entry and the end a File (or Directory) entry. The first reason recorded for a path wins. At the
/// end paths inside a Nix store path are folded into one Directory entry for the store path.
/// </summary>
internal sealed class ClosureCollector
{
    private readonly Dictionary<string, ClosureEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<SymlinkChain.Hop> _hops = new(8);

    public SymlinkChain Links { get; } = new();

    /// <summary>Adds <paramref name="path"/> (absolute, may contain links and '..'); returns its canonical path,
    /// or null when it does not exist. <paramref name="isNotDirectory"/>: the caller has opened and read it (see
    /// <see cref="SymlinkChain.Resolve"/>).</summary>
    public string? AddPath(string path, string reason, string? neededBy, bool wholeDirectory = false, bool isNotDirectory = false)
    {
        _hops.Clear();
        string? real = Links.Resolve(path, _hops, out bool isDir, out _, isNotDirectory);
        foreach (var hop in _hops)
            Add(new ClosureEntry(hop.LinkPath, ClosureEntryKind.Symlink, hop.Target, "symlink hop", path));
        if (real is null) return null;
        if (isDir && !wholeDirectory && real == "/") return real;
        Add(new ClosureEntry(real, isDir ? ClosureEntryKind.Directory : ClosureEntryKind.File, null, reason, neededBy));
        return real;
    }

    /// <summary>Adds an entry as given (first one for a path wins).</summary>
    public void Add(ClosureEntry entry) => _entries.TryAdd(entry.Path, entry);

    /// <summary>Adds or replaces the entry at its path.</summary>
    public void Set(ClosureEntry entry) => _entries[entry.Path] = entry;

    public bool Contains(string path) => _entries.ContainsKey(path);

    /// <summary>The sorted, unique entries, store paths folded.</summary>
    public List<ClosureEntry> Finish()
    {
        var result = new List<ClosureEntry>(_entries.Count);
        var stores = new Dictionary<string, ClosureEntry>(StringComparer.Ordinal);
        foreach (var e in _entries.Values)
        {
            string? store = NixStore.StorePathOf(e.Path);
            if (store is not null && store != e.Path)
            {
                stores.TryAdd(store, new ClosureEntry(store, ClosureEntryKind.Directory, null, "store path", e.NeededBy ?? e.Path));
                continue;
            }
            if (store is not null && e.Kind != ClosureEntryKind.Symlink)
            {
                stores[store] = e with { Kind = ClosureEntryKind.Directory };
                continue;
            }
            result.Add(e);
        }
        foreach (var s in stores.Values)
            if (!_entries.TryGetValue(s.Path, out var own) || own.Kind != ClosureEntryKind.Symlink) result.Add(s);
        result.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        return PruneInsideDirectories(result);
    }

    /// <summary>Drops entries strictly inside a bound directory: the directory bind already carries them.</summary>
    private static List<ClosureEntry> PruneInsideDirectories(List<ClosureEntry> sorted)
    {
        HashSet<string>? dirs = null;
        foreach (var e in sorted)
            if (e.Kind == ClosureEntryKind.Directory) (dirs ??= new(StringComparer.Ordinal)).Add(e.Path);
        if (dirs is null) return sorted;
        var kept = new List<ClosureEntry>(sorted.Count);
        foreach (var e in sorted)
        {
            bool inside = false;
            for (int slash = e.Path.LastIndexOf('/'); slash > 0 && !inside; slash = e.Path.LastIndexOf('/', slash - 1))
                inside = dirs.Contains(e.Path[..slash]);
            if (!inside) kept.Add(e);
        }
        return kept;
    }
}
