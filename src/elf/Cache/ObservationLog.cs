using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// Everything one live closure scan learnt from outside its request: per distinct (path, follow) the result of
/// one <c>statx</c>, and per environment variable read its value or absence. Recorded only while a log is
/// <see cref="Activate">active</see> on the scanning thread: the file wrappers in <c>Interop/Libc.Files.cs</c>
/// (and the few places that reach the file system otherwise) report to <see cref="Current"/>.
/// </summary>
/// <remarks>
/// A path observed without following whose answer is an errno or a non-symlink also answers the followed
/// observation of the same path (only the last component differs between the two), so that one is not
/// recorded again: <c>lstat</c> of a library then <c>open</c> of it costs one observation.
/// </remarks>
internal sealed class ObservationLog
{
    [ThreadStatic] private static ObservationLog? t_current;

    private readonly Dictionary<string, int> _followed = new(256, OrdinalPathComparer.Instance);
    private readonly Dictionary<string, int> _unfollowed = new(256, OrdinalPathComparer.Instance);
    private readonly List<Observation> _observations = new(256);
    private readonly List<KeyValuePair<string, string?>> _environment = new(4);
    private readonly Dictionary<string, string> _resolved = new(128, OrdinalPathComparer.Instance);

    /// <summary>The log recording on this thread, or null (no scan is being recorded).</summary>
    internal static ObservationLog? Current => t_current;

    public IReadOnlyList<Observation> Observations => _observations;

    /// <summary>Every variable the scan read, in first-read order: name and value (null: unset).</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Environment => _environment;

    /// <summary>Why this scan cannot be memoized, or null. A path under /proc or /sys was observed (there a
    /// link's text, <c>/proc/self</c>, or a file's content changes without its stamp changing), or the whole
    /// environment was enumerated (its set of names would have to be part of the answer).</summary>
    public string? Uncacheable { get; private set; }

    /// <summary>Makes this log <see cref="Current"/> on this thread until the scope is disposed.</summary>
    public Scope Activate()
    {
        var previous = t_current;
        t_current = this;
        return new Scope(previous);
    }

    public readonly struct Scope(ObservationLog? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }

    /// <summary>An open of <paramref name="path"/> that gave <paramref name="fdOrErrno"/> (a descriptor, or
    /// -errno): the opened file's stamp through the descriptor, or the failed path's statx.</summary>
    internal void Opened(string path, int fdOrErrno)
    {
        if (Has(path, follow: true)) return;
        if (fdOrErrno >= 0 && Libc.FStat(fdOrErrno, out var st) == 0)
            Add(path, ObservationFlags.Follow, 0, FileStamp.From(st));
        else Probed(path, follow: true);
    }

    /// <summary>A stat (<paramref name="follow"/>) or lstat whose answer the caller already has.</summary>
    internal void Statted(string path, bool follow, int errno, in Libc.StatBuffer st)
    {
        if (Has(path, follow)) return;
        Add(path, follow ? ObservationFlags.Follow : ObservationFlags.None, errno, errno == 0 ? FileStamp.From(st) : default);
    }

    /// <summary>A call whose answer carries no stamp (readlink, access): one statx of the path.</summary>
    internal void Probed(string path, bool follow)
    {
        if (Has(path, follow)) return;
        int errno = Libc.Statx(path, follow, out var stamp);
        Add(path, follow ? ObservationFlags.Follow : ObservationFlags.None, errno, stamp);
    }

    /// <summary>The entries of directory <paramref name="path"/> were listed.</summary>
    internal void Listed(string path)
    {
        if (_followed.TryGetValue(path, out int i) || (_unfollowed.TryGetValue(path, out i) && AnswersFollowed(_observations[i])))
        {
            var o = _observations[i];
            _observations[i] = o with { Flags = o.Flags | ObservationFlags.Listing };
            return;
        }
        int errno = Libc.Statx(path, follow: true, out var stamp);
        Add(path, ObservationFlags.Follow | ObservationFlags.Listing, errno, stamp);
    }

    /// <summary>An environment variable read: its value, or null when unset.</summary>
    internal void Read(string name, string? value)
    {
        foreach (var (n, _) in _environment)
            if (n == name) return;
        _environment.Add(new(name, value));
    }

    /// <summary>A walk of <paramref name="path"/> component by component (lstat and readlink of each, all
    /// observed here) ended at <paramref name="real"/>.</summary>
    internal void Resolved(string path, string real)
    {
        if (path != real) _resolved.TryAdd(path, real);
    }

    /// <summary>
    /// The observations a cache file needs, in order: all of them less those the others imply, so that a lookup
    /// re-checks fewer paths. <list type="bullet">
    /// <item>A followed observation of a path also observed unfollowed as the same non-link (following it
    /// changes nothing), or walked component by component to a real path observed unfollowed with the same
    /// stamp: while every component's observation holds (links are fixed by their stamps), following the path
    /// reaches that same file. The library search opens each candidate by its search path
    /// (<c>/lib/x86_64-linux-gnu/libz.so.1</c>) and the closure walks it to its file
    /// (<c>/usr/lib/x86_64-linux-gnu/libz.so.1.2.13</c>).</item>
    /// <item>The links inside a directory holding two or more observed links, when the directory itself was
    /// observed and did not change within <paramref name="windowNs"/> of <paramref name="nowNs"/>: the
    /// directory's stamp is then compared in full instead (<see cref="ObservationFlags.Listing"/>). A directory
    /// whose mtime and ctime are unchanged has the same name for every inode, and a link's text cannot change
    /// in place; a mount cannot cover a link. Replacing, adding or removing any entry changes the directory's
    /// stamp, so such a directory (/usr/lib/x86_64-linux-gnu) answers for all its links with one statx.</item>
    /// </list>
    /// </summary>
    public List<Observation> ToStore(long nowNs, long windowNs)
    {
        // Per link: the observation of its directory (-1: none); per such directory: how many links.
        var dirOf = new int[_observations.Count];
        var links = new Dictionary<int, int>();
        for (int i = 0; i < _observations.Count; i++)
        {
            dirOf[i] = IsLink(_observations[i]) ? DirectoryObservation(Parent(_observations[i].Path)) : -1;
            if (dirOf[i] >= 0) links[dirOf[i]] = links.GetValueOrDefault(dirOf[i]) + 1;
        }
        HashSet<int>? answering = null; // directories that answer for their links
        foreach (var (d, count) in links)
        {
            var upgraded = _observations[d] with { Flags = _observations[d].Flags | ObservationFlags.Listing };
            if (count >= 2 && !upgraded.IsRecent(nowNs, windowNs)) (answering ??= []).Add(d);
        }
        var kept = new List<Observation>(_observations.Count);
        for (int i = 0; i < _observations.Count; i++)
        {
            var o = _observations[i];
            if ((answering is not null && dirOf[i] >= 0 && answering.Contains(dirOf[i])) || Implied(o)) continue;
            kept.Add(answering is not null && answering.Contains(i) ? o with { Flags = o.Flags | ObservationFlags.Listing } : o);
        }
        return kept;
    }

    private bool Implied(in Observation o)
    {
        if (o.Flags != ObservationFlags.Follow) return false;
        if (_unfollowed.TryGetValue(o.Path, out int same))
        {
            var u = _observations[same];
            if (AnswersFollowed(u) && u.Errno == o.Errno && (o.Errno != 0 || u.Stamp == o.Stamp)) return true;
        }
        if (o.Errno != 0 || !_resolved.TryGetValue(o.Path, out string? real) || !_unfollowed.TryGetValue(real, out int i)) return false;
        var end = _observations[i];
        return end.Errno == 0 && end.Stamp == o.Stamp;
    }

    private static bool IsLink(in Observation o) =>
        o.Flags == ObservationFlags.None && o.Errno == 0 && (o.Stamp.Mode & Libc.S_IFMT) == Libc.S_IFLNK;

    /// <summary>The observation of <paramref name="dir"/> as an existing directory (unfollowed, or followed
    /// when that is the only one), or -1.</summary>
    private int DirectoryObservation(ReadOnlySpan<char> dir)
    {
        if ((_unfollowed.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(dir, out int i)
                || _followed.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(dir, out i))
            && _observations[i].Errno == 0 && _observations[i].Stamp.IsDirectory) return i;
        return -1;
    }

    private static ReadOnlySpan<char> Parent(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path.AsSpan(0, slash);
    }

    /// <summary>The scan enumerated the environment.</summary>
    internal void ReadAll() => Uncacheable ??= "environment: enumerated";

    private bool Has(string path, bool follow)
    {
        if (!follow) return _unfollowed.ContainsKey(path);
        return _followed.ContainsKey(path) || (_unfollowed.TryGetValue(path, out int i) && AnswersFollowed(_observations[i]));
    }

    private static bool AnswersFollowed(in Observation o) => o.Errno != 0 || (o.Stamp.Mode & Libc.S_IFMT) != Libc.S_IFLNK;

    private void Add(string path, ObservationFlags flags, int errno, FileStamp stamp)
    {
        (((flags & ObservationFlags.Follow) != 0) ? _followed : _unfollowed)[path] = _observations.Count;
        _observations.Add(new Observation(path, flags, errno, stamp));
        if (IsUnderPseudoFileSystem(path)) Uncacheable ??= $"{path}: a pseudo file system";
    }

    private static bool IsUnderPseudoFileSystem(string path) =>
        IsUnder(path, "/proc") || IsUnder(path, "/sys");

    private static bool IsUnder(string path, string dir) =>
        path.StartsWith(dir, StringComparison.Ordinal) && (path.Length == dir.Length || path[dir.Length] == '/');
}
