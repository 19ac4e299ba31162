using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>State shared by every emulated process of one <see cref="ClosureBuilder.Build"/>: the target's
/// environment and working directory, the closure being collected, and the file-system answers worth keeping
/// (directory existence per search prefix as glibc caches it, each ld.so.cache read once).</summary>
internal sealed class ResolutionContext
{
    private readonly Dictionary<string, bool> _dirs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LdSoCache?> _caches = new(StringComparer.Ordinal);
    private readonly Dictionary<InterpreterProfile, SearchPath> _defaults = new();

    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    /// <summary>Absolute, tidy.</summary>
    public required string WorkingDirectory { get; init; }
    public bool AllowMissing { get; init; }
    public ClosureCollector Collector { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<string> MissingLibraries { get; } = new();
    /// <summary>Cache files some process needed (they join the closure).</summary>
    public HashSet<string> NeededCaches { get; } = new(StringComparer.Ordinal);

    public void Warn(string line) => Warnings.Add(line);

    public void Missing(string name, string line)
    {
        if (!MissingLibraries.Contains(name)) MissingLibraries.Add(name);
        Warnings.Add(line);
    }

    public LdSoCache? Cache(string? path)
    {
        if (path is null) return null;
        if (!_caches.TryGetValue(path, out var cache))
            _caches[path] = cache = LoadShared(path);
        return cache;
    }

    private static readonly Dictionary<string, (ulong Dev, ulong Ino, long Size, long Mtime, long Ctime, LdSoCache? Cache)> SharedCaches = new(StringComparer.Ordinal);
    private static readonly Lock SharedCachesLock = new();

    /// <summary>One parse per process and file version: the file is re-parsed only when (dev, ino, size, mtime, ctime) change.</summary>
    private static LdSoCache? LoadShared(string path)
    {
        // open + fstat identify the file version and serve the read: a stat before the open asked the same.
        int fd = Libc.OpenReadOnly(path);
        if (fd < 0) return null;
        try
        {
            if (Libc.FStat(fd, out var st) != 0) return null;
            long mtime = st.MtimeSec * 1_000_000_000 + st.MtimeNsec, ctime = st.CtimeSec * 1_000_000_000 + st.CtimeNsec;
            lock (SharedCachesLock)
            {
                if (SharedCaches.TryGetValue(path, out var c) && c.Dev == st.Dev && c.Ino == st.Ino && c.Size == st.Size && c.Mtime == mtime && c.Ctime == ctime)
                    return c.Cache;
            }
            var cache = LdSoCache.TryLoad(fd, st, path);
            lock (SharedCachesLock) SharedCaches[path] = (st.Dev, st.Ino, st.Size, mtime, ctime, cache);
            return cache;
        }
        finally
        {
            Libc.close(fd);
        }
    }

    public SearchPath DefaultPath(InterpreterProfile profile)
    {
        if (!_defaults.TryGetValue(profile, out var sp))
            _defaults[profile] = sp = new SearchPath(profile.SystemDirs, "default path");
        return sp;
    }

    /// <summary>Whether the search prefix (a directory, "" or relative meaning under the working directory)
    /// exists as a directory; asked once per prefix.</summary>
    public bool DirectoryExists(string prefix)
    {
        if (_dirs.TryGetValue(prefix, out bool exists)) return exists;
        string host = prefix.Length > 0 && prefix[0] == '/' ? prefix : SymlinkChain.Join(WorkingDirectory, prefix);
        exists = Libc.Stat(host, out var st) == 0 && (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
        _dirs[prefix] = exists;
        return exists;
    }
}
