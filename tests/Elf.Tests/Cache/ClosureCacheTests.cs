using System.Text;
using ConfineExec.Elf.Tests.Closure;

namespace ConfineExec.Elf.Tests.Cache;

/// <summary>
/// The closure cache on binaries built at test time: a hit is the live closure, field for field; every change a
/// live scan would see — a library's bytes, a replaced file, a new candidate earlier in a search path, a
/// retargeted link, ld.so.cache, the environment, the working directory — makes the lookup miss, and the scan
/// that follows gives (and stores) the new answer.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClosureCacheTests : IDisposable
{
    private readonly FixtureDirectory _fx;
    private readonly ClosureCache _cache;
    private const string Main = "int main(void){return 0;}\n";

    public ClosureCacheTests()
    {
        FixtureDirectory.RequireTools();
        _fx = new FixtureDirectory();
        _cache = CacheAssert.Open(_fx);
    }

    public void Dispose()
    {
        _cache.Dispose();
        _fx.Dispose();
    }

    private static void SetRunPath(string file, string value) => FixtureDirectory.Run("patchelf", ["--set-rpath", value, file]);

    private static ClosureRequest Request(string program, string workingDirectory = "/", Dictionary<string, string>? env = null,
        IReadOnlyList<string>? packages = null) =>
        new() { Program = program, BinSh = null, AllowMissing = true, WorkingDirectory = workingDirectory, Environment = env ?? new(), Packages = packages ?? [] };

    /// <summary>exe (RUNPATH <paramref name="runpath"/>) needs libx.so.1 in A, which needs liby.so.1 in A.</summary>
    private string Chain(string runpath)
    {
        _fx.Lib("A/liby.so.1", "y");
        _fx.Lib("A/libz.so.1", "z");
        var libx = _fx.Lib("A/libx.so.1", "x", null, "-Wl,--no-as-needed", _fx.P("A/liby.so.1"));
        SetRunPath(libx, "$ORIGIN");
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libx);
        SetRunPath(exe, runpath);
        return exe;
    }

    /// <summary>A copy of A/libx.so.1 that needs libz.so.1 instead of liby.so.1: the same bytes with one
    /// same-length name changed in its string table.</summary>
    private byte[] LibxNeedingZ()
    {
        byte[] bytes = File.ReadAllBytes(File.Exists(_fx.P("A/libx.so.1.0")) ? _fx.P("A/libx.so.1.0") : _fx.P("A/libx.so.1"));
        byte[] from = Encoding.ASCII.GetBytes("liby.so.1\0"), to = Encoding.ASCII.GetBytes("libz.so.1\0");
        int at = bytes.AsSpan().IndexOf(from);
        Assert.True(at > 0);
        to.CopyTo(bytes, at);
        return bytes;
    }

    private static void ReplaceByRename(string path, byte[] bytes)
    {
        string temp = path + ".new";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    [Fact]
    public void Hit_ReturnsTheLiveClosure_EveryField()
    {
        var exe = Chain(_fx.P("A"));
        File.WriteAllText(_fx.P("script"), $"#!/usr/bin/env {exe}\n");
        File.SetUnixFileMode(_fx.P("script"), (UnixFileMode)0x1ed);
        Directory.CreateDirectory(_fx.P("pkg"));
        File.Copy(exe, _fx.P("pkg/copy"));
        var request = new ClosureRequest
        {
            Program = _fx.P("script"), BinSh = "/bin/sh", AllowMissing = true, Packages = [_fx.P("pkg"), "/usr/bin/git"],
            Environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["LD_PRELOAD"] = "libnothere.so" },
        };
        var live = CacheAssert.StoreAndHit(_cache, request);
        Assert.NotEmpty(live.Warnings);
        Assert.Contains(live.Entries, e => e.Path == "/bin/sh" && e.Target is not null);
        Assert.Contains(live.Entries, e => e.Kind == ClosureEntryKind.Directory);
        CacheAssert.Same(ClosureBuilder.Build(request), live);
    }

    [Fact]
    public void Hit_MissingLibrariesAndOrigin_AreKept()
    {
        var libo = _fx.Lib("app/lib/libo.so.1", "o");
        var liby = _fx.Lib("elsewhere/liby.so.1", "y");
        var exe = _fx.Exe("app/bin/app", Main, "-Wl,--no-as-needed", libo, liby);
        SetRunPath(exe, "$ORIGIN/../lib");
        var live = CacheAssert.StoreAndHit(_cache, Request(exe));
        Assert.True(live.MainUsesOrigin);
        Assert.Equal(["liby.so.1"], live.MissingLibraries);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LibraryRewrittenInPlace_SameSize_Misses(bool mtimeRestored)
    {
        var exe = Chain(_fx.P("A"));
        string libx = _fx.P("A/libx.so.1");
        CacheAssert.Backdate(libx, 90);
        var request = Request(exe);
        var before = CacheAssert.StoreAndHit(_cache, request);
        Assert.Contains(before.Entries, e => e.Path == _fx.P("A/liby.so.1"));

        var mtime = File.GetLastWriteTimeUtc(libx);
        byte[] bytes = LibxNeedingZ();
        Assert.Equal(new FileInfo(libx).Length, bytes.Length);
        using (var f = new FileStream(libx, FileMode.Open, FileAccess.Write)) f.Write(bytes); // same inode, same size
        // Restoring the old mtime leaves the ctime to tell.
        File.SetLastWriteTimeUtc(libx, mtimeRestored ? mtime : mtime.AddMinutes(30));

        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == _fx.P("A/libz.so.1"));
        Assert.DoesNotContain(after.Entries, e => e.Path == _fx.P("A/liby.so.1"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LibraryReplacedByRename_Misses(bool throughSonameLink)
    {
        // Through a link (libx.so.1 -> libx.so.1.0, as packages install them) the open of the search path is not
        // stored: the link's and the file's own observations imply it.
        var exe = Chain(_fx.P("A"));
        string file = _fx.P("A/libx.so.1");
        if (throughSonameLink)
        {
            File.Move(file, _fx.P("A/libx.so.1.0"));
            File.CreateSymbolicLink(file, "libx.so.1.0");
            file = _fx.P("A/libx.so.1.0");
        }
        var request = Request(exe);
        CacheAssert.StoreAndHit(_cache, request);
        byte[] replacement = LibxNeedingZ();
        ReplaceByRename(file, replacement);
        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == _fx.P("A/libz.so.1"));
        Assert.Equal(throughSonameLink, after.Entries.Any(e => e.Path == _fx.P("A/libx.so.1") && e.Kind == ClosureEntryKind.Symlink));
    }

    [Theory]
    [InlineData("runpath", true)]
    [InlineData("runpath", false)]
    [InlineData("LD_LIBRARY_PATH", true)]
    [InlineData("LD_LIBRARY_PATH", false)]
    public void NewCopyInAnEarlierDirectory_Misses(string via, bool directoryExisted)
    {
        // The classic negative lookup: the scan found nothing in D and went on; a file appearing there wins now.
        string d = _fx.P("D");
        var exe = Chain(via == "runpath" ? $"{d}:{_fx.P("A")}" : _fx.P("A"));
        var env = via == "runpath" ? new Dictionary<string, string>() : new() { ["LD_LIBRARY_PATH"] = d };
        if (directoryExisted) Directory.CreateDirectory(d);
        var request = Request(exe, env: env);
        CacheAssert.StoreAndHit(_cache, request);

        Directory.CreateDirectory(d);
        File.WriteAllBytes(Path.Combine(d, "libx.so.1"), LibxNeedingZ());
        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == Path.Combine(d, "libx.so.1"));
        Assert.DoesNotContain(after.Entries, e => e.Path == _fx.P("A/libx.so.1"));
    }

    [Fact]
    public void LinkRetargeted_InADirectoryOfLinks_Misses()
    {
        // Two links in A: the directory's stamp answers for both; retargeting one changes it.
        var exe = Chain(_fx.P("A"));
        foreach (string lib in new[] { "libx.so.1", "liby.so.1" })
        {
            File.Move(_fx.P("A/" + lib), _fx.P("A/" + lib + ".0"));
            File.CreateSymbolicLink(_fx.P("A/" + lib), lib + ".0");
        }
        File.WriteAllBytes(_fx.P("A/libx.so.1.1"), LibxNeedingZ());
        var request = Request(exe);
        var before = CacheAssert.StoreAndHit(_cache, request);
        Assert.Contains(before.Entries, e => e.Path == _fx.P("A/libx.so.1") && e.Target == "libx.so.1.0");

        File.CreateSymbolicLink(_fx.P("A/libx.so.1.new"), "libx.so.1.1");
        File.Move(_fx.P("A/libx.so.1.new"), _fx.P("A/libx.so.1"), overwrite: true);
        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == _fx.P("A/libx.so.1") && e.Target == "libx.so.1.1");
        Assert.Contains(after.Entries, e => e.Path == _fx.P("A/libz.so.1"));
    }

    [Fact]
    public void SymlinkRetargeted_Misses()
    {
        Chain(_fx.P("A"));
        Directory.CreateDirectory(_fx.P("B"));
        File.WriteAllBytes(_fx.P("B/libx.so.1"), LibxNeedingZ());
        File.Copy(_fx.P("A/libz.so.1"), _fx.P("B/libz.so.1"));
        File.CreateSymbolicLink(_fx.P("L"), "A");
        var exe = _fx.Exe("t/viaLink", Main, "-Wl,--no-as-needed", _fx.P("A/libx.so.1"));
        SetRunPath(exe, _fx.P("L"));
        var request = Request(exe);
        var before = CacheAssert.StoreAndHit(_cache, request);
        Assert.Contains(before.Entries, e => e.Path == _fx.P("L") && e.Target == "A");

        File.CreateSymbolicLink(_fx.P("L.new"), "B"); // a new link renamed over the old one
        FixtureDirectory.Run("mv", ["-T", _fx.P("L.new"), _fx.P("L")]);
        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == _fx.P("L") && e.Target == "B");
        Assert.Contains(after.Entries, e => e.Path == _fx.P("B/libz.so.1"));
    }

    [Fact]
    public void LdSoCacheCreatedThenChanged_Misses()
    {
        // A store-style loader reads <store>/etc/ld.so.cache: the one cache file a test may write.
        string store = _fx.P("nix/store/0c1i3x8p5w1mhqfdz3x4xj9mwb0vk2aa-glibc-2.36");
        Directory.CreateDirectory(store + "/lib");
        Directory.CreateDirectory(store + "/etc");
        string loader = store + "/lib/ld-linux-x86-64.so.2";
        File.Copy(LdSoOracle.RealPath(LdSoOracle.HostLoader), loader);
        File.SetUnixFileMode(loader, (UnixFileMode)0x1ed);
        File.Copy("/lib/x86_64-linux-gnu/libc.so.6", store + "/lib/libc.so.6");
        _fx.Lib("Q1/libq.so.1", "q");
        _fx.Lib("Q2/libq.so.1", "q", null, "-Wl,--no-as-needed", _fx.Lib("Q2/libr.so.1", "r"));
        SetRunPath(_fx.P("Q2/libq.so.1"), "$ORIGIN");
        var exe = _fx.Exe("t/cached", Main, "-Wl,--no-as-needed", _fx.P("Q1/libq.so.1"));
        FixtureDirectory.Run("patchelf", ["--set-interpreter", loader, "--remove-rpath", exe]);
        var request = Request(exe);

        var none = CacheAssert.StoreAndHit(_cache, request);
        Assert.Equal(["libq.so.1"], none.MissingLibraries);

        void WriteLdSoCache(string dir)
        {
            File.WriteAllText(_fx.P("ld.so.conf"), dir + "\n");
            FixtureDirectory.Run("/sbin/ldconfig", ["-X", "-C", store + "/etc/ld.so.cache.new", "-f", _fx.P("ld.so.conf")]);
            File.Move(store + "/etc/ld.so.cache.new", store + "/etc/ld.so.cache", overwrite: true);
        }
        WriteLdSoCache(_fx.P("Q1"));
        var viaQ1 = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(viaQ1.Entries, e => e.Path == _fx.P("Q1/libq.so.1") && e.Reason == "needed via ld.so.cache");

        WriteLdSoCache(_fx.P("Q2"));
        var viaQ2 = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(viaQ2.Entries, e => e.Path == _fx.P("Q2/libq.so.1"));
        Assert.Contains(viaQ2.Entries, e => e.Path == _fx.P("Q2/libr.so.1"));
    }

    [Fact]
    public void LdLibraryPathChanged_IsAnotherKey()
    {
        var exe = Chain("");
        _fx.Lib("E/liby.so.1", "y");
        var none = Request(exe, env: new() { ["LD_LIBRARY_PATH"] = _fx.P("A") });
        CacheAssert.StoreAndHit(_cache, none);
        var other = Request(exe, env: new() { ["LD_LIBRARY_PATH"] = $"{_fx.P("E")}:{_fx.P("A")}" });
        var after = CacheAssert.MissesThenRebuilds(_cache, other, ClosureCacheLookup.Absent);
        Assert.Contains(after.Entries, e => e.Path == _fx.P("E/liby.so.1"));
        Assert.NotNull(_cache.TryLoad(none)); // both kept
    }

    [Fact]
    public void EnvironmentVariableReadByTheScan_IsCheckedAgainstTheRequest()
    {
        // The variables the scan reads are in the key too; the stored reads are checked on their own as well
        // (here: the stored file decoded against another environment under the same key).
        var exe = Chain(_fx.P("A"));
        var request = Request(exe, env: new() { ["LD_PRELOAD"] = _fx.P("A/libz.so.1") });
        CacheAssert.StoreAndHit(_cache, request);
        byte[] file = File.ReadAllBytes(CacheAssert.OnlyFile(_fx.P("cache")));
        byte[] key = Encoding.UTF8.GetBytes(ClosureCacheKey.For(request, _cache.BuildIdentity, Directory.GetCurrentDirectory(), Interop.Libc.geteuid())!);
        Assert.Equal(ClosureCacheFile.Verdict.Hit, ClosureCacheFile.TryDecode(file, file.Length, key, request.Environment, out _, out _));
        var other = new Dictionary<string, string> { ["LD_PRELOAD"] = _fx.P("A/liby.so.1") };
        Assert.Equal(ClosureCacheFile.Verdict.EnvironmentChanged, ClosureCacheFile.TryDecode(file, file.Length, key, other, out var c, out string? changed));
        Assert.Null(c);
        Assert.Equal("LD_PRELOAD", changed);
        Assert.Equal(ClosureCacheFile.Verdict.EnvironmentChanged, ClosureCacheFile.TryDecode(file, file.Length, key, new Dictionary<string, string>(), out _, out _));
    }

    [Fact]
    public void WorkingDirectoryChanged_ForARelativeRunPath_IsAnotherKey()
    {
        var libe = _fx.Lib("w1/lib/libe.so.1", "e");
        Directory.CreateDirectory(_fx.P("w2/lib"));
        var exe = _fx.Exe("t/rel", Main, "-Wl,--no-as-needed", libe);
        SetRunPath(exe, "lib");
        var inW1 = CacheAssert.StoreAndHit(_cache, Request(exe, workingDirectory: _fx.P("w1")));
        Assert.Contains(inW1.Entries, e => e.Path == libe);
        var inW2 = CacheAssert.MissesThenRebuilds(_cache, Request(exe, workingDirectory: _fx.P("w2")), ClosureCacheLookup.Absent);
        Assert.Equal(["libe.so.1"], inW2.MissingLibraries);

        // The same relative request from another directory of ours is another key too.
        string k1 = ClosureCacheKey.For(Request(exe, workingDirectory: "w1"), "id", _fx.Root, Interop.Libc.geteuid())!;
        string k2 = ClosureCacheKey.For(Request(exe, workingDirectory: "w1"), "id", _fx.P("t"), Interop.Libc.geteuid())!;
        Assert.NotEqual(k1, k2);
    }

    [Fact]
    public void PackageDirectoryGainsAFile_Misses()
    {
        Directory.CreateDirectory(_fx.P("pkg"));
        File.WriteAllText(_fx.P("pkg/readme"), "x");
        var request = Request("/usr/bin/true", packages: [_fx.P("pkg")]);
        var before = CacheAssert.StoreAndHit(_cache, request);
        Assert.DoesNotContain(before.Entries, e => e.Path == "/usr/bin/git");
        File.CreateSymbolicLink(_fx.P("pkg/git"), "/usr/bin/git");
        var after = CacheAssert.MissesThenRebuilds(_cache, request, ClosureCacheLookup.FileChanged);
        Assert.Contains(after.Entries, e => e.Path == "/usr/bin/git");
    }

    [Fact]
    public void ProgramRemoved_MissesAndTheScanThrows_NothingStored()
    {
        var exe = Chain(_fx.P("A"));
        var request = Request(exe);
        CacheAssert.StoreAndHit(_cache, request);
        string file = CacheAssert.OnlyFile(_fx.P("cache"));
        File.Delete(exe);
        Assert.Null(_cache.TryLoad(request));
        Assert.Throws<ClosureException>(() => _cache.GetOrBuild(request));
        Assert.Equal(ClosureCacheLookup.FileChanged, _cache.LastOutcome.Lookup);
        Assert.Equal(ClosureCacheStore.None, _cache.LastOutcome.Store);
        Assert.True(File.Exists(file)); // the old file stays: it is simply never a hit
    }

    [Fact]
    public void FailedScan_IsNotStored()
    {
        var exe = Chain(""); // libx.so.1 cannot be found
        var strict = new ClosureRequest { Program = exe, BinSh = null, AllowMissing = false };
        Assert.Throws<ClosureException>(() => _cache.GetOrBuild(strict));
        Assert.Empty(Directory.GetFiles(_fx.P("cache")));
    }

    [Fact]
    public void RecentlyWrittenFixture_IsNotStored_WithTheDefaultWindow()
    {
        var exe = Chain(_fx.P("A"));
        foreach (var f in Directory.GetFiles(_fx.P("A")).Append(exe)) CacheAssert.Backdate(f);
        using var cache = CacheAssert.Open(_fx, "cache-default", ClosureCache.DefaultRecentWindow);
        var request = Request(exe);
        var live = cache.GetOrBuild(request);
        // mtimes are backdated, but a ctime cannot be: the files changed a moment ago.
        Assert.Equal(ClosureCacheStore.RecentlyModified, cache.LastOutcome.Store);
        Assert.StartsWith(_fx.Root, cache.LastOutcome.Detail);
        Assert.Empty(Directory.GetFiles(_fx.P("cache-default")));
        CacheAssert.Same(ClosureBuilder.Build(request), live);
        Assert.Null(cache.TryLoad(request));
    }

    [Fact]
    public void OldSystemFiles_AreStored_WithTheDefaultWindow()
    {
        using var cache = CacheAssert.Open(_fx, "cache-default", ClosureCache.DefaultRecentWindow);
        var request = new ClosureRequest { Program = "/usr/bin/git" };
        var live = cache.GetOrBuild(request);
        Assert.Equal(ClosureCacheStore.Stored, cache.LastOutcome.Store);
        CacheAssert.Same(live, cache.TryLoad(request));
        CacheAssert.Same(live, cache.GetOrBuild(request));
        Assert.Equal(ClosureCacheLookup.Hit, cache.LastOutcome.Lookup);
    }

    [Fact]
    public void ProcFileSystem_IsNotMemoized()
    {
        // /proc/self is a link whose text changes with every process while its stamp does not.
        var request = new ClosureRequest { Program = "/proc/self/root/usr/bin/true", BinSh = null };
        _cache.GetOrBuild(request);
        Assert.Equal(ClosureCacheStore.Uncacheable, _cache.LastOutcome.Store);
        Assert.Empty(Directory.GetFiles(_fx.P("cache")));
    }

    [Fact]
    public void ScanThatObservesNothing_IsNotStored()
    {
        var fake = new Elf.Closure { ProgramPath = "/x", Entries = [] };
        _cache.GetOrBuild(new ClosureRequest { Program = "/x" }, _ => fake);
        Assert.Equal(ClosureCacheStore.Uncacheable, _cache.LastOutcome.Store);
        Assert.Empty(Directory.GetFiles(_fx.P("cache")));
    }
}
