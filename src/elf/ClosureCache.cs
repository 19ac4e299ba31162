using System.Text;
using ConfineExec.Elf.Interop;
using Microsoft.Win32.SafeHandles;

namespace ConfineExec.Elf;

/// <summary>What a lookup found.</summary>
public enum ClosureCacheLookup
{
    /// <summary>No lookup was made.</summary>
    None,
    /// <summary>The stored closure, every observation unchanged.</summary>
    Hit,
    /// <summary>No file for this key.</summary>
    Absent,
    /// <summary>A file that is not ours to trust: a symlink, not a regular file, another owner, group- or
    /// other-writable.</summary>
    Untrusted,
    /// <summary>Unreadable, truncated, a bad checksum or a malformed field.</summary>
    Corrupt,
    /// <summary>A file for another key with the same hash.</summary>
    OtherKey,
    /// <summary>An environment variable the scan read has another value now.</summary>
    EnvironmentChanged,
    /// <summary>A path the scan observed answers differently now.</summary>
    FileChanged,
}

/// <summary>What became of a live scan's result.</summary>
public enum ClosureCacheStore
{
    /// <summary>No live scan ran (a hit), or it threw.</summary>
    None,
    Stored,
    /// <summary>Not stored: an observed file changed within <see cref="ClosureCache.RecentWindow"/> of now, so it
    /// could change again without its stamp changing.</summary>
    RecentlyModified,
    /// <summary>Not stored: the scan depended on something stamps do not capture (/proc, /sys), or on nothing.</summary>
    Uncacheable,
    /// <summary>Not stored: the file could not be written.</summary>
    WriteFailed,
}

/// <summary>The last <see cref="ClosureCache"/> call's outcome; <see cref="Detail"/> names the path, variable or
/// errno that decided it.</summary>
public readonly record struct ClosureCacheOutcome(ClosureCacheLookup Lookup, ClosureCacheStore Store, string? Detail);

/// <summary>
/// Memoizes <see cref="ClosureBuilder.Build"/> on disk, the way a build system tracks dependencies. The scan is a
/// deterministic function of its request and process facts (the key, <see cref="ClosureCacheKey"/>), of what
/// it observed in the file system and of the environment variables it read; a live scan records the latter two
/// (<see cref="ObservationLog"/>) and its result is stored under the key. A lookup re-checks each observation
/// with one <c>statx</c> and each variable read, and returns the stored closure only when all are unchanged;
/// anything else — a changed file, a damaged, truncated or foreign cache file — is a miss, answered by a live
/// scan that replaces the file. Failed scans are not stored.
/// </summary>
/// <remarks>
/// Files are trusted only inside a directory owned by the caller's euid and not group- or other-writable,
/// opened without following a final symlink, and only when they are regular files with the same owner and
/// no group/other write bit. A store writes a private temporary file and renames it over the final name:
/// readers see a whole file, concurrent writers each rename a whole file of their own (the last rename wins).
/// A writer killed mid-store leaves its temporary file behind (no eviction).
/// </remarks>
public sealed class ClosureCache : IDisposable
{
    /// <summary>Bumped whenever the file format or the meaning of an observation changes.</summary>
    public const uint FormatVersion = 1;

    /// <summary>ccache's rule for the same problem: a file changed in the last two seconds may be changed again
    /// within the file system's timestamp granularity without its stamp changing.</summary>
    public static readonly TimeSpan DefaultRecentWindow = TimeSpan.FromSeconds(2);

    /// <summary>A cache file larger than this is not read (a valid one for the largest closures is ~100 KB).</summary>
    private const long MaxFileSize = 64 << 20;

    private readonly SafeFileHandle _dir;
    private readonly uint _euid;

    private ClosureCache(SafeFileHandle dir, uint euid, string directory, string buildIdentity)
    {
        _dir = dir;
        _euid = euid;
        Directory = directory;
        BuildIdentity = buildIdentity;
    }

    /// <summary>The cache directory as given to <see cref="Open"/>.</summary>
    public string Directory { get; }

    /// <summary>Identifies the code doing the scan (part of every key): by default the running executable's GNU
    /// build ID (a hash of its code: every rebuild that changes it gives another), else the stamp of
    /// <c>/proc/self/exe</c>.</summary>
    public string BuildIdentity { get; set; }

    /// <summary>A scan is stored only when every file it observed was last changed longer ago than this.</summary>
    public TimeSpan RecentWindow { get; set; } = DefaultRecentWindow;

    /// <summary>The outcome of the last <see cref="GetOrBuild"/>, <see cref="TryLoad"/> or <see cref="BuildAndStore"/>.</summary>
    public ClosureCacheOutcome LastOutcome { get; private set; }

    /// <summary>
    /// The cache at <paramref name="directory"/> (absolute), created with mode 0700 when absent — its missing
    /// parents too with <paramref name="createParents"/>. Null when there is no usable cache there: it cannot be
    /// created or opened, is a symlink or not a directory, is owned by another user, or is group- or
    /// other-writable.
    /// </summary>
    public static ClosureCache? Open(string directory, bool createParents = false)
    {
        if (directory.Length == 0 || directory[0] != '/' || directory.Contains('\0')) return null;
        int fd = OpenDirectory(directory);
        if (fd == -Libc.ENOENT)
        {
            if (createParents) CreateParents(directory);
            int err = Libc.MakeDirectory(directory, 0x1c0);
            if (err != 0 && err != Libc.EEXIST) return null;
            fd = OpenDirectory(directory);
        }
        if (fd < 0) return null;
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        uint euid = Libc.geteuid();
        if (Libc.FStat(fd, out var st) != 0 || (st.Mode & Libc.S_IFMT) != Libc.S_IFDIR || st.Uid != euid
            || (st.Mode & 0x12) != 0 || DefaultBuildIdentity() is not { } identity)
        {
            handle.Dispose();
            return null;
        }
        return new ClosureCache(handle, euid, directory, identity);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>The stored closure when it is still what a live scan would give, else a live scan by
    /// <paramref name="build"/> (default <see cref="ClosureBuilder.Build"/>), stored when it succeeds.
    /// Throws what the live scan throws; a cache problem is never an error.</summary>
    public Closure GetOrBuild(ClosureRequest request, Func<ClosureRequest, Closure>? build = null)
    {
        build ??= ClosureBuilder.Build;
        if (Key(request) is not { } key)
        {
            LastOutcome = new(ClosureCacheLookup.None, ClosureCacheStore.None, "no key");
            return build(request);
        }
        var lookup = Load(key, request.Environment, out Closure? hit, out string? detail);
        if (hit is not null) return hit;
        var closure = Scan(request, key, build, out var store, out string? storeDetail);
        LastOutcome = new(lookup, store, storeDetail ?? detail);
        return closure;
    }

    /// <summary>The stored closure when every observation still holds, else null.</summary>
    public Closure? TryLoad(ClosureRequest request)
    {
        if (Key(request) is not { } key)
        {
            LastOutcome = new(ClosureCacheLookup.None, ClosureCacheStore.None, "no key");
            return null;
        }
        Load(key, request.Environment, out var closure, out _);
        return closure;
    }

    /// <summary>A live scan (no lookup), stored when it succeeds and may be stored.</summary>
    public Closure BuildAndStore(ClosureRequest request, Func<ClosureRequest, Closure>? build = null)
    {
        build ??= ClosureBuilder.Build;
        if (Key(request) is not { } key)
        {
            LastOutcome = new(ClosureCacheLookup.None, ClosureCacheStore.None, "no key");
            return build(request);
        }
        var closure = Scan(request, key, build, out var store, out string? detail);
        LastOutcome = new(ClosureCacheLookup.None, store, detail);
        return closure;
    }

    /// <summary>The key's text and its UTF-8 bytes, and the file name (the hex of their hash).</summary>
    private sealed record CacheKey(string Text, byte[] Bytes, string FileName);

    private CacheKey? Key(ClosureRequest request)
    {
        string cwd;
        try { cwd = System.IO.Directory.GetCurrentDirectory(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (ClosureCacheKey.For(request, BuildIdentity, cwd, _euid) is not { } text) return null;
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return new CacheKey(text, bytes, CacheHash.Of(bytes).ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
    }

    private unsafe ClosureCacheLookup Load(CacheKey key, IReadOnlyDictionary<string, string> environment, out Closure? closure, out string? detail)
    {
        closure = null;
        var lookup = Read(key.FileName, out byte[]? file, out int length, out detail);
        if (lookup is null)
        {
            lookup = ClosureCacheFile.TryDecode(file!, length, key.Bytes, environment, out closure, out detail) switch
            {
                ClosureCacheFile.Verdict.Hit => ClosureCacheLookup.Hit,
                ClosureCacheFile.Verdict.OtherKey => ClosureCacheLookup.OtherKey,
                ClosureCacheFile.Verdict.EnvironmentChanged => ClosureCacheLookup.EnvironmentChanged,
                ClosureCacheFile.Verdict.FileChanged => ClosureCacheLookup.FileChanged,
                _ => ClosureCacheLookup.Corrupt,
            };
        }
        LastOutcome = new(lookup.Value, ClosureCacheStore.None, detail);
        return lookup.Value;
    }

    /// <summary>One open, fstat, read and close of the cache file, checked to be ours: null with the bytes, or
    /// why there are none.</summary>
    private unsafe ClosureCacheLookup? Read(string name, out byte[]? file, out int length, out string? detail)
    {
        file = null;
        length = 0;
        detail = null;
        Span<byte> nameBytes = stackalloc byte[64];
        nameBytes = nameBytes[..CString(name, nameBytes)];
        int fd;
        fixed (byte* p = nameBytes)
            fd = Libc.openat((int)_dir.DangerousGetHandle(), p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            detail = $"open: errno {err}";
            return err == Libc.ENOENT ? ClosureCacheLookup.Absent : err == ELOOP ? ClosureCacheLookup.Untrusted : ClosureCacheLookup.Corrupt;
        }
        try
        {
            if (Libc.FStat(fd, out var st) != 0) return ClosureCacheLookup.Corrupt;
            if ((st.Mode & Libc.S_IFMT) != Libc.S_IFREG || st.Uid != _euid || (st.Mode & 0x12) != 0)
            {
                detail = $"mode {Convert.ToString(st.Mode, 8)} owner {st.Uid}";
                return ClosureCacheLookup.Untrusted;
            }
            if (st.Size < ClosureCacheFile.HeaderSize || st.Size > MaxFileSize)
            {
                detail = $"size {st.Size}";
                return ClosureCacheLookup.Corrupt;
            }
            var buffer = GC.AllocateUninitializedArray<byte>((int)st.Size);
            int done;
            long ignored = 0;
            try { done = Reading.ElfObjectReader.PRead(fd, buffer, 0, ref ignored, "cache file"); }
            catch (IOException e)
            {
                detail = e.Message;
                return ClosureCacheLookup.Corrupt;
            }
            if (done != buffer.Length)
            {
                detail = $"read {done} of {buffer.Length} bytes";
                return ClosureCacheLookup.Corrupt;
            }
            file = buffer;
            length = done;
            return null;
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private Closure Scan(ClosureRequest request, CacheKey key, Func<ClosureRequest, Closure> build, out ClosureCacheStore store, out string? detail)
    {
        var log = new ObservationLog();
        var recorded = new ClosureRequest
        {
            Program = request.Program,
            Environment = new RecordingEnvironment(request.Environment, log),
            WorkingDirectory = request.WorkingDirectory,
            BinSh = request.BinSh,
            Packages = request.Packages,
            AllowMissing = request.AllowMissing,
        };
        Closure closure;
        using (log.Activate())
            closure = build(recorded);
        store = Store(key, log, closure, out detail);
        return closure;
    }

    private unsafe ClosureCacheStore Store(CacheKey key, ObservationLog log, Closure closure, out string? detail)
    {
        detail = log.Uncacheable;
        if (detail is not null) return ClosureCacheStore.Uncacheable;
        if (log.Observations.Count == 0)
        {
            detail = "nothing observed";
            return ClosureCacheStore.Uncacheable;
        }
        long now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        long window = RecentWindow.Ticks * 100;
        var observations = log.ToStore(now, window);
        foreach (var o in observations)
        {
            if (o.IsRecent(now, window))
            {
                detail = o.Path;
                return ClosureCacheStore.RecentlyModified;
            }
        }
        var bytes = ClosureCacheFile.Encode(key.Text, log, observations, closure);

        int dir = (int)_dir.DangerousGetHandle();
        Span<byte> finalName = stackalloc byte[64];
        finalName = finalName[..CString(key.FileName, finalName)];
        Span<byte> tempName = stackalloc byte[96];
        fixed (byte* final = finalName)
        fixed (byte* temp = tempName)
        {
            // A name no other writer can hold: pid plus 64 random bits (two writers may share a pid across pid
            // namespaces, or be two threads of one process). O_EXCL never opens another writer's file and this
            // writer only ever unlinks the name it created.
            const int flags = Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;
            int fd = -1;
            for (int attempt = 0; attempt < 4 && fd < 0; attempt++)
            {
                string name = $"{key.FileName}.{Environment.ProcessId}.{(ulong)Random.Shared.NextInt64():x16}.tmp";
                tempName[CString(name, tempName)..].Clear();
                fd = Libc.openat(dir, temp, flags, 0x180);
                if (fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Libc.EEXIST) break;
            }
            if (fd < 0)
            {
                detail = $"create: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}";
                return ClosureCacheStore.WriteFailed;
            }
            int err = Libc.WriteAll(fd, bytes.Span);
            if (Libc.close(fd) != 0 && err == 0) err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (err == 0 && Libc.renameat(dir, temp, dir, final) != 0) err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (err != 0)
            {
                Libc.unlinkat(dir, temp, 0);
                detail = $"write: errno {err}";
                return ClosureCacheStore.WriteFailed;
            }
        }
        detail = null;
        return ClosureCacheStore.Stored;
    }

    private const int ELOOP = 40;

    private static unsafe int OpenDirectory(string path)
    {
        int max = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = CString(path, bytes);
        fixed (byte* p = bytes[..n])
        {
            int fd = Libc.openat(Libc.AT_FDCWD, p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
            return fd >= 0 ? fd : -System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>mkdir -p of the parents of <paramref name="directory"/>, each created 0700 (as the XDG base
    /// directory spec asks of $XDG_CACHE_HOME); failures are left to the final mkdir to report.</summary>
    private static void CreateParents(string directory)
    {
        for (int slash = directory.IndexOf('/', 1); slash > 0; slash = directory.IndexOf('/', slash + 1))
            Libc.MakeDirectory(directory[..slash], 0x1c0);
    }

    /// <summary>The running executable's build ID, else its stamp; null when neither can be had.</summary>
    private static string? DefaultBuildIdentity()
    {
        if (Libc.ExecutableBuildId() is { } id) return "build-id " + id;
        if (Libc.Statx("/proc/self/exe", follow: true, out var s) != 0) return null;
        return $"exe {s.DevMajor}:{s.DevMinor}:{s.Ino}:{s.Size}:{s.MtimeNs}:{s.CtimeNs}";
    }

    /// <summary>Writes <paramref name="s"/> as UTF-8 plus a NUL into <paramref name="buffer"/>: the length with the NUL.</summary>
    private static int CString(string s, Span<byte> buffer)
    {
        int n = Encoding.UTF8.GetBytes(s, buffer);
        buffer[n] = 0;
        return n + 1;
    }
}
