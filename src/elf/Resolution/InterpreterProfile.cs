using System.Buffers.Binary;
using System.Text;
using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// What a glibc dynamic loader was built with, taken from the loader image itself (never by running it): the
/// default directories (<c>SYSTEM_DIRS</c>), <c>$LIB</c> (<c>DL_DST_LIB</c>), the cache path, and the glibc
/// version (which decides whether the legacy hwcaps subdirectories exist). A loader under a Nix store path
/// (<c>…/nix/store/&lt;hash&gt;-glibc-&lt;ver&gt;/lib/ld-linux-x86-64.so.2</c>) gets the Nix layout: system dir
/// <c>&lt;store path&gt;/lib/</c>, <c>$LIB</c> = <c>lib</c>, cache <c>&lt;store path&gt;/etc/ld.so.cache</c>
/// (which nixpkgs deletes, so no cache is used) — whatever strings a copied image carries.
/// </summary>
public sealed class InterpreterProfile
{
    /// <summary>The interpreter's canonical host path.</summary>
    public required string Path { get; init; }
    /// <summary>Default directories, each ending in '/'.</summary>
    public required string[] SystemDirs { get; init; }
    public required string DstLib { get; init; }
    public required string Platform { get; init; }
    /// <summary>The cache this loader reads, or null when it reads none (absent file, or a Nix store loader).</summary>
    public string? CachePath { get; init; }
    public required Version GlibcVersion { get; init; }
    /// <summary>Per-directory subdir prefixes probed before the directory itself ("" last).</summary>
    public required string[] SearchSubdirs { get; init; }
    public required HwCaps HwCaps { get; init; }

    /// <summary>The cache path the image names (before checking that it exists), or null.</summary>
    internal string? CacheCandidate { get; init; }

    private static readonly Dictionary<(ulong Dev, ulong Ino, long Size, long Mtime, long Ctime), InterpreterProfile> Profiles = new();
    private static readonly Lock ProfilesLock = new();

    /// <summary>The profile of the loader at <paramref name="realPath"/> (read once per process and file version).</summary>
    public static InterpreterProfile For(string realPath)
    {
        // A loader already profiled is checked with one stat (its version unchanged: the profile stands); a new
        // one with one open + fstat, which identify the version and serve the mapping.
        bool seen = false;
        lock (ProfilesLock)
        {
            foreach (var p in Profiles.Values) seen |= p.Path == realPath;
        }
        if (seen && Libc.Stat(realPath, out var known) == 0)
        {
            lock (ProfilesLock)
            {
                if (Profiles.TryGetValue(VersionOf(known), out var cached) && cached.Path == realPath) return WithCacheNow(cached);
            }
        }
        int fd = Libc.OpenReadOnly(realPath);
        if (fd < 0)
        {
            if (Libc.Stat(realPath, out _) != 0)
                throw new ClosureException(ClosureError.UnresolvablePath, realPath, $"interpreter: {realPath}: cannot stat");
            return FromImage(realPath, ReadImage(realPath), HwCaps.Current); // names the reason, or throws
        }
        try
        {
            bool statted = Libc.FStat(fd, out var st) == 0;
            var key = VersionOf(st);
            if (statted)
            {
                InterpreterProfile? cached;
                lock (ProfilesLock)
                {
                    if (!Profiles.TryGetValue(key, out cached) || cached.Path != realPath) cached = null;
                }
                if (cached is not null) return WithCacheNow(cached);
            }
            var profile = FromMappedImage(realPath, fd, statted, st);
            if (statted) lock (ProfilesLock) Profiles[key] = profile;
            return profile;
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private static (ulong, ulong, long, long, long) VersionOf(in Libc.StatBuffer st) =>
        (st.Dev, st.Ino, st.Size, st.MtimeSec * 1_000_000_000 + st.MtimeNsec, st.CtimeSec * 1_000_000_000 + st.CtimeNsec);

    /// <summary>A profile kept from an earlier scan, its cache path re-checked: whether the cache file exists is
    /// not a fact of the loader image (and the scan's dependence on it must be observed again).</summary>
    private static InterpreterProfile WithCacheNow(InterpreterProfile p)
    {
        if (p.CacheCandidate is not { } candidate) return p;
        bool exists = Libc.Stat(candidate, out _) == 0;
        if (exists == (p.CachePath is not null)) return p;
        return new InterpreterProfile
        {
            Path = p.Path,
            SystemDirs = p.SystemDirs,
            DstLib = p.DstLib,
            Platform = p.Platform,
            CachePath = exists ? candidate : null,
            GlibcVersion = p.GlibcVersion,
            SearchSubdirs = p.SearchSubdirs,
            HwCaps = p.HwCaps,
            CacheCandidate = candidate,
        };
    }

    /// <summary>The whole image (fallback when it cannot be mapped); IO failures become ClosureException.</summary>
    private static byte[] ReadImage(string realPath)
    {
        ObservationLog.Current?.Probed(realPath, follow: true);
        try { return File.ReadAllBytes(realPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClosureException(ClosureError.UnresolvablePath, realPath, $"interpreter: {realPath}: cannot be read: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>Scans the loader image through a read-only private mapping: the page cache's pages are used in
    /// place (a copy of the whole image costs a large allocation, its zeroing and page faults on every run).</summary>
    private static unsafe InterpreterProfile FromMappedImage(string realPath, int fd, bool statted, in Libc.StatBuffer st)
    {
        // A PT_INTERP naming a directory (or any non-regular file) makes execve fail with EACCES: the program
        // is not executable (126), and nothing below may throw the BCL's IO exceptions out of the closure.
        if (statted && (st.Mode & 0xF000) != 0x8000 /* S_IFREG */)
            throw new ClosureException(ClosureError.ProgramNotExecutable, realPath, $"interpreter: {realPath}: not a regular file (execve would fail with EACCES)");
        if (!statted || st.Size <= 0 || st.Size > int.MaxValue)
            return FromImage(realPath, ReadImage(realPath), HwCaps.Current);
        void* map = Libc.mmap(null, (nuint)st.Size, Libc.PROT_READ, Libc.MAP_PRIVATE, fd, 0);
        if (map == (void*)-1)
            return FromImage(realPath, ReadImage(realPath), HwCaps.Current);
        try
        {
            return FromImage(realPath, new ReadOnlySpan<byte>(map, (int)st.Size), HwCaps.Current);
        }
        finally
        {
            Libc.munmap(map, (nuint)st.Size);
        }
    }

    /// <summary>Builds a profile from the loader image bytes.</summary>
    public static InterpreterProfile FromImage(string realPath, ReadOnlySpan<byte> image, HwCaps hwCaps)
    {
        // The strings live in .rodata, inside the read-only data segment: scan that first (a sixth of ld.so's
        // image), the whole image only for what it does not hold.
        var rodata = ReadOnlyData(image);
        string[]? systemDirs = FindSystemDirs(rodata) ?? FindSystemDirs(image);
        string? cache = FindCachePath(rodata) ?? FindCachePath(image);
        Version version = FindVersion(rodata) ?? FindVersion(image) ?? new Version(2, 36);
        string? dstLib = null;
        if (systemDirs is not null)
        {
            // Debian patches DL_DST_LIB to the multiarch form of the first system dir; upstream uses
            // $(notdir $(slibdir)). Take whichever of the two the image holds as a string of its own.
            string multiarch = systemDirs[0].Trim('/');
            string notdir = multiarch.Contains('/') ? multiarch[(multiarch.LastIndexOf('/') + 1)..] : multiarch;
            dstLib = HasString(rodata, multiarch) || HasString(image, multiarch) ? multiarch : notdir;
        }

        if (TryParseNixGlibcLoader(realPath, out string storePath, out string storeVersion))
        {
            systemDirs = [storePath + "/lib/"];
            dstLib = "lib";
            cache = storePath + "/etc/ld.so.cache";
            if (Version.TryParse(storeVersion, out var v)) version = v;
        }

        systemDirs ??= ["/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/", "/usr/lib/"];
        dstLib ??= "lib/x86_64-linux-gnu";
        string? candidate = cache;
        if (cache is not null && Libc.Stat(cache, out _) != 0) cache = null;
        bool legacy = version.Major == 2 && version.Minor <= 36;
        return new InterpreterProfile
        {
            Path = realPath,
            SystemDirs = systemDirs,
            DstLib = dstLib,
            Platform = hwCaps.Platform,
            CachePath = cache,
            GlibcVersion = version,
            SearchSubdirs = hwCaps.SearchSubdirs(legacy),
            HwCaps = hwCaps,
            CacheCandidate = candidate,
        };
    }

    /// <summary>True when <paramref name="dir"/> (ending in '/') starts with one of the system dirs, as
    /// <c>_dl_map_new_object</c>'s DF_1_NODEFLIB cache filter compares.</summary>
    public bool IsUnderSystemDir(string path)
    {
        foreach (var d in SystemDirs)
            if (path.StartsWith(d, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>
    /// <c>&lt;prefix&gt;/nix/store/&lt;32 nix-base32&gt;-glibc-&lt;major&gt;.&lt;minor&gt;&lt;rest&gt;/lib[64]/ld-linux-x86-64.so.2</c>:
    /// the store path (everything before <c>/lib</c>) and "major.minor". Hand-written rather than a regex: the
    /// regex engine alone would add hundreds of types to every start of the launcher.
    /// </summary>
    internal static bool TryParseNixGlibcLoader(string path, out string storePath, out string version)
    {
        storePath = version = "";
        const string loader = "/ld-linux-x86-64.so.2";
        ReadOnlySpan<char> p = path;
        if (!p.EndsWith(loader, StringComparison.Ordinal)) return false;
        p = p[..^loader.Length];
        if (p.EndsWith("/lib64", StringComparison.Ordinal)) p = p[..^"/lib64".Length];
        else if (p.EndsWith("/lib", StringComparison.Ordinal)) p = p[..^"/lib".Length];
        else return false;
        int slash = p.LastIndexOf('/');
        if (slash < 0 || !p[..(slash + 1)].EndsWith(NixStore.Prefix, StringComparison.Ordinal)) return false;
        var name = p[(slash + 1)..];
        if (!NixStore.IsStoreName(name) || !name[33..].StartsWith("glibc-", StringComparison.Ordinal)) return false;
        var v = name[(33 + "glibc-".Length)..];
        int major = 0;
        while (major < v.Length && char.IsAsciiDigit(v[major])) major++;
        if (major == 0 || major >= v.Length || v[major] != '.') return false;
        int minor = major + 1;
        while (minor < v.Length && char.IsAsciiDigit(v[minor])) minor++;
        if (minor == major + 1) return false;
        storePath = p.ToString();
        version = v[..minor].ToString();
        return true;
    }

    /// <summary>The file bytes of the read-only, non-executable PT_LOAD segments after the first one (the
    /// first holds the headers and dynamic symbols), from the first such segment's start to the last one's end;
    /// the whole image when it is not a little-endian ELF64 file or has no such segment.</summary>
    private static ReadOnlySpan<byte> ReadOnlyData(ReadOnlySpan<byte> image)
    {
        const uint PT_LOAD = 1, PF_X = 1, PF_W = 2;
        if (image.Length < 64 || !ElfObject.HasElfMagic(image) || image[4] != 2 || image[5] != 1) return image;
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(image[0x20..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(image[0x38..]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(image[0x36..]) != 56 || phoff > (ulong)image.Length
            || (ulong)phnum * 56 > (ulong)image.Length - phoff) return image;
        ulong start = ulong.MaxValue, end = 0;
        for (int i = 0; i < phnum; i++)
        {
            var ph = image.Slice((int)phoff + 56 * i, 56);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(ph), flags = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]), size = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            if (type != PT_LOAD || (flags & (PF_X | PF_W)) != 0 || offset == 0 || offset >= (ulong)image.Length) continue;
            start = Math.Min(start, offset);
            end = Math.Max(end, Math.Min((ulong)image.Length, offset + size));
        }
        return start < end ? image[(int)start..(int)end] : image;
    }

    /// <summary>
    /// <c>SYSTEM_DIRS</c> is one literal "d1/\0d2/\0…": a run of NUL-separated absolute strings each ending in
    /// '/', preceded in .rodata by <c>system_dirs_len[]</c> (one size_t per string). The length array is what
    /// makes the match unambiguous.
    /// </summary>
    private static string[]? FindSystemDirs(ReadOnlySpan<byte> image)
    {
        int from = 0;
        while (true)
        {
            int i = image[from..].IndexOf("/\0/"u8);
            if (i < 0) return null;
            int pos = from + i + 1;
            // Walk back to the start of the string that ends at pos-1.
            int start = pos - 1;
            while (start > 0 && image[start - 1] != 0) start--;
            var dirs = ReadDirRun(image, start);
            if (dirs.Count > 0 && LengthsPrecede(image, start, dirs)) return dirs.ToArray();
            from = pos + 1;
        }
    }

    private static List<string> ReadDirRun(ReadOnlySpan<byte> image, int start)
    {
        var dirs = new List<string>();
        int p = start;
        while (p < image.Length && image[p] == '/')
        {
            int nul = image[p..].IndexOf((byte)0);
            if (nul <= 0) break;
            var s = image.Slice(p, nul);
            if (s[^1] != '/' || s.IndexOfAny(" \t\n"u8) >= 0) break;
            dirs.Add(Encoding.UTF8.GetString(s));
            p += nul + 1;
        }
        return dirs;
    }

    private static bool LengthsPrecede(ReadOnlySpan<byte> image, int start, List<string> dirs)
    {
        int need = 8 * dirs.Count;
        // The array may be padded up to 8-byte alignment before the string starts.
        for (int pad = 0; pad < 16; pad++)
        {
            int at = start - pad - need;
            if (at < 0) return false;
            bool ok = true;
            for (int k = 0; k < dirs.Count && ok; k++)
                ok = BitConverter.ToUInt64(image.Slice(at + 8 * k, 8)) == (ulong)dirs[k].Length;
            if (ok) return true;
            if (image[start - pad - 1] != 0) return false;
        }
        return false;
    }

    private static string? FindCachePath(ReadOnlySpan<byte> image)
    {
        int from = 0;
        while (true)
        {
            int i = image[from..].IndexOf("/ld.so.cache\0"u8);
            if (i < 0) return null;
            int end = from + i + "/ld.so.cache".Length;
            int start = end;
            while (start > 0 && image[start - 1] != 0) start--;
            var s = image[start..end];
            if (s.Length > 0 && s[0] == '/' && s.IndexOfAny(" \t\n"u8) < 0) return Encoding.UTF8.GetString(s);
            from = end + 1;
        }
    }

    private static Version? FindVersion(ReadOnlySpan<byte> image)
    {
        int i = image.IndexOf("release version "u8);
        if (i < 0) return null;
        int p = i + "release version ".Length, q = p;
        while (q < image.Length && (char.IsAsciiDigit((char)image[q]) || image[q] == '.')) q++;
        var text = Encoding.ASCII.GetString(image[p..q]).TrimEnd('.');
        return Version.TryParse(text, out var v) ? v : null;
    }

    private static bool HasString(ReadOnlySpan<byte> image, string s)
    {
        Span<byte> needle = stackalloc byte[s.Length + 2];
        needle[0] = 0;
        Encoding.ASCII.GetBytes(s, needle[1..]);
        needle[^1] = 0;
        return image.IndexOf(needle) >= 0;
    }
}
