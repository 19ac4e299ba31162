using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// One emulated process start of glibc 2.36's <c>ld.so</c> for an executable: the loaded-object list, the BFS
/// over DT_NEEDED (<c>_dl_map_object_deps</c>) and the per-name search (<c>_dl_map_object</c>), recording into
/// the closure every path the loader would open.
/// </summary>
internal sealed class LibrarySearch
{
    private readonly ResolutionContext _ctx;
    private readonly InterpreterProfile _profile;
    private readonly LdSoCache? _cache;
    private readonly List<LinkMap> _loaded = new(32);
    // For each name: the first loaded object (in load order) matching it by l_name, l_libname or SONAME —
    // what _dl_map_object's walk over the loaded list finds, without walking it for every DT_NEEDED.
    private readonly Dictionary<string, LinkMap> _byName = new(64, StringComparer.Ordinal);
    private readonly LinkMap _main;
    private readonly SearchPath? _ldLibraryPath;
    private readonly bool _allowMissing;
    private readonly Dictionary<SearchPath, PrefixProbe> _prefixes = new(ReferenceEqualityComparer.Instance);

    /// <summary>A search list's existing prefixes, found as far as some lookup has needed them.</summary>
    private sealed class PrefixProbe
    {
        public readonly List<string> Existing = new(8);
        public int Directory, Subdir;
    }

    /// <summary>True when some lookup was answered by ld.so.cache with a file the default dirs would not give.</summary>
    public bool NeedsCache { get; private set; }

    /// <summary>The cache file this process's loader reads, or null.</summary>
    public string? CachePath => _cache is null ? null : _profile.CachePath;

    /// <summary>True when the main program's RPATH/RUNPATH/NEEDED uses <c>$ORIGIN</c>.</summary>
    public bool MainUsesOrigin { get; }

    private LibrarySearch(ResolutionContext ctx, InterpreterProfile profile, LinkMap main, bool allowMissing)
    {
        _ctx = ctx;
        _profile = profile;
        _main = main;
        _allowMissing = allowMissing;
        _cache = ctx.Cache(profile.CachePath);
        if (ctx.Environment.TryGetValue("LD_LIBRARY_PATH", out var llp))
            _ldLibraryPath = SearchPath.Parse(llp, [':', ';'], main.Origin, profile.DstLib, profile.Platform, "LD_LIBRARY_PATH");
        var e = main.Elf;
        MainUsesOrigin = (e.RPath is not null && DynamicStringTokens.ContainsOrigin(e.RPath))
            || (e.RunPath is not null && DynamicStringTokens.ContainsOrigin(e.RunPath));
        foreach (var n in e.Needed) MainUsesOrigin |= DynamicStringTokens.ContainsOrigin(n);
    }

    /// <summary>
    /// Resolves the process whose main program is <paramref name="main"/> (canonical path
    /// <paramref name="realPath"/>, already in the closure) with the interpreter at
    /// <paramref name="interpreterReal"/> registered under its PT_INTERP string.
    /// </summary>
    public static LibrarySearch Run(ResolutionContext ctx, ElfObject main, string realPath, ulong dev, ulong ino,
        string interpString, string interpHost, string interpReal, bool allowMissing, bool preload)
    {
        var profile = InterpreterProfile.For(interpReal);
        var mainMap = new LinkMap { Name = "", HostPath = realPath, Elf = main, Origin = Dirname(realPath), Dev = dev, Ino = ino, IsMain = true };
        var search = new LibrarySearch(ctx, profile, mainMap, allowMissing);
        search.Resolve(interpString, interpHost, preload);
        return search;
    }

    private void Resolve(string interpString, string interpHost, bool preload)
    {
        Append(_main);
        var bfs = new List<LinkMap>(32) { _main };

        // dl_main registers ld.so under its PT_INTERP string; its SONAME matches lazily like any other.
        var rtldCheck = LoaderFile.OpenVerify(interpHost);
        if (rtldCheck.Verdict == LoaderFile.Verdict.Accepted)
        {
            var rtld = new LinkMap { Name = interpString, HostPath = interpHost, Elf = rtldCheck.Object!, Origin = Dirname(interpHost), Dev = rtldCheck.Dev, Ino = rtldCheck.Ino };
            rtld.Names.Add(interpString);
            Append(rtld);
        }

        if (preload && _ctx.Environment.TryGetValue("LD_PRELOAD", out var pre))
        {
            foreach (var name in pre.Split([' ', ':'], StringSplitOptions.RemoveEmptyEntries))
            {
                var m = MapObject(_main, name, out bool isNew, out string? failure);
                if (m is null) { _ctx.Warn($"preload: {name}: cannot be preloaded ({failure}): ignored"); continue; }
                if (isNew) bfs.Add(m);
            }
        }

        for (int i = 0; i < bfs.Count; i++)
        {
            var map = bfs[i];
            var elf = map.Elf;
            for (int k = 0; k < elf.Needed.Count; k++)
                Dependency(map, elf.Needed[k], bfs, "needed", fatal: true);
            for (int k = 0; k < elf.Auxiliary.Count; k++)
                Dependency(map, elf.Auxiliary[k], bfs, "auxiliary filtee", fatal: false);
            for (int k = 0; k < elf.Filter.Count; k++)
                Dependency(map, elf.Filter[k], bfs, "filtee", fatal: true);
        }
    }

    private void Dependency(LinkMap loader, string rawName, List<LinkMap> bfs, string what, bool fatal)
    {
        string name = DynamicStringTokens.Contains(rawName)
            ? DynamicStringTokens.Expand(rawName, loader.Origin, _profile.DstLib, _profile.Platform)
            : rawName;
        string? failure;
        LinkMap? m;
        bool isNew = false;
        if (name.Length == 0) { m = null; failure = "empty dynamic string token substitution"; }
        else m = MapObject(loader, name, out isNew, out failure);
        if (m is null)
        {
            if (!fatal) return;
            string line = $"missing library: {rawName}: needed by {loader.HostPath}: {failure}";
            if (!_allowMissing) throw new ClosureException(ClosureError.MissingLibrary, rawName, line);
            _ctx.Missing(rawName, line);
            return;
        }
        if (isNew) bfs.Add(m);
    }

    /// <summary><c>_dl_map_object</c>: an already-loaded match, else a search; null when not found.</summary>
    private LinkMap? MapObject(LinkMap loader, string name, out bool isNew, out string? failure)
    {
        isNew = false;
        failure = null;
        if (_byName.TryGetValue(name, out var known))
        {
            if (known.Name != name && !known.Names.Contains(name)) known.Names.Add(name); // matched by SONAME
            return known;
        }

        LoaderFile.Result found;
        string realName, reason;
        if (name.Contains('/'))
        {
            realName = name;
            reason = "needed by path";
            found = LoaderFile.OpenVerify(HostPathOf(realName));
            if (found.Verdict == LoaderFile.Verdict.Fatal) { failure = found.Problem; return null; }
            if (found.Verdict != LoaderFile.Verdict.Accepted) { failure = NotFoundText(found.OtherClass); return null; }
        }
        else if (!Search(loader, name, out found, out realName, out reason, out failure)) return null;

        foreach (var l in _loaded)
        {
            if (l.Dev == found.Dev && l.Ino == found.Ino && (l.Dev | l.Ino) != 0)
            {
                // No loaded object answered to this name (else the index had it): this one is the first.
                l.Names.Add(name);
                _byName.TryAdd(name, l);
                return l;
            }
        }
        string host = HostPathOf(realName);
        var map = new LinkMap { Name = realName, HostPath = host, Elf = found.Object!, Loader = loader, Origin = Dirname(host), Dev = found.Dev, Ino = found.Ino };
        map.Names.Add(name);
        Append(map);
        _ctx.Collector.AddPath(host, reason, loader.HostPath, isNotDirectory: true); // open_verify read it
        isNew = true;
        return map;
    }

    /// <summary>Adds to the loaded list; names already answered by an earlier object keep that answer.</summary>
    private void Append(LinkMap map)
    {
        _loaded.Add(map);
        _byName.TryAdd(map.Name, map);
        foreach (var n in map.Names) _byName.TryAdd(n, map);
        if (map.Elf.SoName is { } so) _byName.TryAdd(so, map);
    }

    /// <summary><c>_dl_map_new_object</c>'s search for a name without '/'.</summary>
    private bool Search(LinkMap loader, string name, out LoaderFile.Result found, out string realName, out string reason, out string? failure)
    {
        bool otherClass = false;
        failure = null;
        reason = "";
        if (loader.Elf.RunPath is null)
        {
            bool didMain = false;
            for (var l = loader; l is not null; l = l.Loader)
            {
                var rp = l.RPath(_profile);
                if (rp is null) continue;
                if (OpenPath(name, rp, ref otherClass, out found, out realName, out failure)) { reason = "needed via RPATH"; return true; }
                if (failure is not null) return false;
                didMain |= l == _main;
            }
            if (!didMain && _main.RPath(_profile) is { } mainRp)
            {
                if (OpenPath(name, mainRp, ref otherClass, out found, out realName, out failure)) { reason = "needed via RPATH"; return true; }
                if (failure is not null) return false;
            }
        }
        if (_ldLibraryPath is not null)
        {
            if (OpenPath(name, _ldLibraryPath, ref otherClass, out found, out realName, out failure)) { reason = "needed via LD_LIBRARY_PATH"; return true; }
            if (failure is not null) return false;
        }
        if (loader.RunPath(_profile) is { } runpath)
        {
            if (OpenPath(name, runpath, ref otherClass, out found, out realName, out failure)) { reason = "needed via RUNPATH"; return true; }
            if (failure is not null) return false;
        }
        bool noDefault = loader.NoDefaultLib;
        if (_cache is not null)
        {
            string? cached = _cache.Lookup(name, _profile.HwCaps.IsaLevelMask, _profile.HwCaps.ActiveSubdirs);
            if (cached is not null && !(noDefault && _profile.IsUnderSystemDir(cached)))
            {
                found = LoaderFile.OpenVerify(cached);
                if (found.Verdict == LoaderFile.Verdict.Fatal) { failure = found.Problem; realName = cached; return false; }
                if (found.Verdict == LoaderFile.Verdict.Accepted)
                {
                    realName = cached;
                    reason = "needed via ld.so.cache";
                    if (!NeedsCache) NeedsCache = !SameAsDefault(name, cached, found, noDefault);
                    return true;
                }
                otherClass |= found.OtherClass;
            }
        }
        if (!noDefault)
        {
            if (OpenPath(name, _ctx.DefaultPath(_profile), ref otherClass, out found, out realName, out failure)) { reason = "needed via default path"; return true; }
            if (failure is not null) return false;
        }
        found = default;
        realName = "";
        failure = NotFoundText(otherClass);
        return false;
    }

    /// <summary>Would the default directories give the same file as the cache did? (Else the root needs the cache.)</summary>
    private bool SameAsDefault(string name, string cachedPath, LoaderFile.Result cacheHit, bool noDefault)
    {
        if (noDefault) return false;
        // The usual answer (a Debian cache value is "<first system dir><name>"): the default search's first
        // candidate is the very path the cache gave and that open_verify just accepted — no second open.
        if (FirstDefaultCandidate(name) is { } first && first == cachedPath) return true;
        bool other = false;
        if (!OpenPath(name, _ctx.DefaultPath(_profile), ref other, out var viaDefault, out _, out _, readObject: false)) return false;
        return viaDefault.Dev == cacheHit.Dev && viaDefault.Ino == cacheHit.Ino;
    }

    /// <summary>The first path the default search would open for <paramref name="name"/> (the first existing
    /// search prefix), or null when none exists.</summary>
    private string? FirstDefaultCandidate(string name) =>
        PrefixAt(_ctx.DefaultPath(_profile), 0) is { } first ? HostPathOf(first + name) : null;

    /// <summary>The <paramref name="index"/>-th existing search prefix of <paramref name="path"/> (each
    /// directory's hwcaps subdirs, then the directory), or null past the last. Prefixes are probed only as far as
    /// a lookup gets, each once per list, as glibc keeps each prefix's existence once it has probed it: a
    /// closure answered by ld.so.cache never probes the default directories after the first.</summary>
    private string? PrefixAt(SearchPath path, int index)
    {
        if (!_prefixes.TryGetValue(path, out var probe)) _prefixes[path] = probe = new PrefixProbe();
        var subdirs = _profile.SearchSubdirs;
        while (probe.Existing.Count <= index && probe.Directory < path.Directories.Length)
        {
            string dir = path.Directories[probe.Directory];
            string sub = subdirs[probe.Subdir];
            if (++probe.Subdir == subdirs.Length) { probe.Subdir = 0; probe.Directory++; }
            string prefix = sub.Length == 0 ? dir : dir + sub;
            if (_ctx.DirectoryExists(prefix)) probe.Existing.Add(prefix);
        }
        return index < probe.Existing.Count ? probe.Existing[index] : null;
    }

    /// <summary>
    /// <c>open_path</c>: each directory, each hwcaps subdir then the directory itself; directories known not
    /// to exist are skipped. False with <paramref name="failure"/> set when a broken file stopped the lookup.
    /// </summary>
    private bool OpenPath(string name, SearchPath path, ref bool otherClass, out LoaderFile.Result found, out string realName, out string? failure, bool readObject = true)
    {
        failure = null;
        for (int i = 0; PrefixAt(path, i) is { } prefix; i++)
        {
            string candidate = prefix + name;
            var r = LoaderFile.OpenVerify(HostPathOf(candidate), readObject);
            if (r.Verdict == LoaderFile.Verdict.Accepted)
            {
                found = r;
                realName = candidate;
                return true;
            }
            if (r.Verdict == LoaderFile.Verdict.Fatal)
            {
                found = r;
                realName = candidate;
                failure = $"{HostPathOf(candidate)}: {r.Problem}";
                return false;
            }
            otherClass |= r.OtherClass;
        }
        found = default;
        realName = "";
        return false;
    }

    private string HostPathOf(string realName) =>
        realName.Length > 0 && realName[0] == '/' ? realName : SymlinkChain.Join(_ctx.WorkingDirectory, realName);

    private static string NotFoundText(bool otherClass) =>
        otherClass ? "wrong ELF class: ELFCLASS32" : "cannot open shared object file: No such file or directory";

    internal static string Dirname(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }
}
