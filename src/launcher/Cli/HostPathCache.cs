using static ConfineExec.Launcher.Interop.Libc;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// <see cref="HostPaths.RealPath"/> and <see cref="HostPaths.Exists"/> for one planning run, memoized per
/// directory: realpath(dir/leaf) is realpath(dir)/leaf whenever that is not a symlink, so N binds out of one
/// directory cost the directory's resolution once plus one lstat-style statx per leaf (3000 binds of
/// /var/tmp/x/files/fN: 45,000 lstat/readlink/stat calls before, 3,000 statx now). A leaf that is a link, and
/// any path that is not plain (".", "..", "//"), goes to the full walk.
/// </summary>
public sealed class HostPathCache
{
    private readonly Dictionary<string, string?> _real = new(StringComparer.Ordinal) { ["/"] = "/" };
    private readonly Dictionary<string, string?>.AlternateLookup<ReadOnlySpan<char>> _realBySpan;
    /// <summary>lstat-style S_IFMT of the paths statx'ed so far (0: absent or not stat-able).</summary>
    private readonly Dictionary<string, int> _types = new(StringComparer.Ordinal) { ["/"] = S_IFDIR };
    /// <summary>The directory <see cref="TypeInDirectory"/> holds open (<see cref="_directoryFd"/>), or null.</summary>
    private string? _directory;
    private int _directoryFd = -1;
    /// <summary>Names asked for in <see cref="_directory"/>, and (once read) its entries with their types.</summary>
    private int _directoryLookups, _nextListing = ListAfter;
    private Dictionary<string, int>? _listing;
    private Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _listingByName;

    public HostPathCache() => _realBySpan = _real.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Same contract as <see cref="HostPaths.RealPath"/>.</summary>
    public string? RealPath(string path)
    {
        if (_real.TryGetValue(path, out string? known))
            return known;
        string? real = Resolve(path);
        _real[path] = real;
        return real;
    }

    /// <summary>Same contract as <see cref="HostPaths.Exists"/> (true for a dangling symlink too).</summary>
    public bool Exists(string path)
    {
        if (_real.TryGetValue(path, out string? known) && known == path)
            return true;
        return TypeOf(path) != 0;
    }

    /// <summary>Same contract as <see cref="Planning.HostFacts.SourceKind"/>.</summary>
    public Planning.BindSourceKind SourceKind(string path) => TypeOf(path) switch
    {
        0 or S_IFLNK => Planning.BindSourceKind.Unknown,
        S_IFDIR => Planning.BindSourceKind.Directory,
        _ => Planning.BindSourceKind.File,
    };

    private int TypeOf(string path)
    {
        if (!_types.TryGetValue(path, out int type))
            _types[path] = type = TryFileTypeNoFollow(path, out int t, out _) ? t : 0;
        return type;
    }

    private string? Resolve(string path)
    {
        if (!IsPlain(path))
            return HostPaths.RealPath(path);
        int slash = path.LastIndexOf('/');
        // The parent is usually resolved already (the binds before it share it): looked up by span, so the
        // substring is made only for a directory met for the first time.
        if (!_realBySpan.TryGetValue(slash == 0 ? "/" : path.AsSpan(0, slash), out string? parent))
            parent = RealPath(slash == 0 ? "/" : path[..slash]);
        if (parent is null)
            return null;
        // A parent that resolved to itself (no link in it, the usual case) makes the path its own candidate.
        string candidate = parent == "/" ? (slash == 0 ? path : path[slash..])
            : path.AsSpan(0, slash).SequenceEqual(parent) ? path : string.Concat(parent, path.AsSpan(slash));
        if (!TypeInDirectory(parent, path.AsSpan(slash + 1), candidate, out int type, out int errno))
            return errno is ENOENT or ENOTDIR ? null : HostPaths.RealPath(path);
        _types[candidate] = type;
        return type == S_IFLNK ? HostPaths.RealPath(candidate) : candidate;
    }

    /// <summary>lstat-style type of <paramref name="name"/> in resolved directory <paramref name="directory"/>
    /// (<paramref name="path"/> is both joined): a statx relative to the directory, which stays open while
    /// consecutive lookups share it, so the kernel walks one name instead of the whole path (3000 sources out of
    /// one directory: one open instead of 3000 walks of every component). The directory is canonical (no symlink
    /// in it), so the answer is the one a statx of the whole path would give. Once many names of one directory
    /// have been asked for, it is read instead (<see cref="ListAfter"/>).</summary>
    private bool TypeInDirectory(string directory, ReadOnlySpan<char> name, string path, out int type, out int errno)
    {
        if (name.Length > 255)
            return TryFileTypeNoFollow(path, out type, out errno);
        if (_directory != directory)
        {
            Release();
            _directoryFd = OpenDirectoryPath(directory);
            if (_directoryFd < 0)
                return TryFileTypeNoFollow(path, out type, out errno);
            _directory = directory;
        }
        if (++_directoryLookups == _nextListing && _listing is null)
        {
            List();
            _nextListing *= 2;
        }
        if (_listing is not null && _listingByName.TryGetValue(name, out type))
        {
            errno = 0;
            return true;
        }
        return TryFileTypeNoFollowAt(_directoryFd, name, out type, out errno);
    }

    /// <summary>
    /// How many names of one directory are statx'ed before the directory is read whole: its entries carry their
    /// type (d_type), so the names that follow cost no syscall (3000 sources out of one directory: 3000 statx
    /// became 128 and three getdents64). A listing is taken only when its size is in proportion to the lookups
    /// already made (at most <see cref="ListBytesPerLookup"/> bytes of directory per lookup, checked again each
    /// time the lookups double: /nix/store is not read for a few dozen store paths), and it is what the
    /// directory held at that moment, as each statx
    /// is; a name absent from it (or of a type the file system does not record) is still statx'ed, and the
    /// executor checks every source's type again when it binds it.
    /// </summary>
    private const int ListAfter = 64, ListBytesPerLookup = 1024;

    private void List()
    {
        long size = SizeOf(_directoryFd);
        if (size < 0 || size > (long)_directoryLookups * ListBytesPerLookup)
            return;
        var listing = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!TryReadDirectoryTypes(_directoryFd, listing))
            return;
        _listing = listing;
        _listingByName = listing.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Closes the directory kept open for lookups (the cache still answers what it has seen; a later
    /// lookup opens one again). Called once the plan is built: no descriptor of a host directory is held into
    /// the execution.</summary>
    public void Release()
    {
        if (_directoryFd >= 0)
            Close(_directoryFd);
        _directoryFd = -1;
        _directory = null;
        _directoryLookups = 0;
        _nextListing = ListAfter;
        _listing = null;
    }

    /// <summary>Absolute, no trailing slash, no empty, "." or ".." component.</summary>
    private static bool IsPlain(string path) =>
        path.Length >= 2 && path[0] == '/' && Planning.PathFlawsOf.Scan(path) == Planning.PathFlaws.None;
}
