using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>
/// The closure cache from the published binary: where it lives by default (root: /var/cache/confine-exec;
/// others: $XDG_CACHE_HOME or ~/.cache), that a second identical run is served from it with identical output
/// (strace: the scan's pread/readlink calls are gone), that --no-closure-cache writes nothing, and that a
/// location that cannot be used changes nothing but speed.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ClosureCacheBinaryTests(ConfineExecFixture fixture) : HostCheckedTest
{
    private const string Variable = TestClosureCaches.Variable;
    private const string SystemCache = "/var/cache/confine-exec";
    private const string Program = "/usr/bin/git";

    private RunResult Run(IReadOnlyList<string> args, bool asNobody = false, Dictionary<string, string>? env = null, string[]? unset = null)
    {
        string[] argv = [fixture.Binary, .. args];
        return ProcessRunner.Run(asNobody ? ProcessRunner.AsNobody(argv) : argv, env, unset);
    }

    private static void AssertOk(RunResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    /// <summary>strace -f -c of a run: calls per syscall name.</summary>
    private Dictionary<string, int> Syscalls(IReadOnlyList<string> args, bool asNobody, Dictionary<string, string> env, out RunResult result)
    {
        string report = Path.Combine(Dir.Subdirectory("strace-" + Guid.NewGuid().ToString("N"), (UnixFileMode)0x1ff), "calls");
        string[] argv = ["strace", "-f", "-c", "-o", report, fixture.Binary, .. args];
        result = ProcessRunner.Run(asNobody ? ProcessRunner.AsNobody(argv) : argv, env);
        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(report))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // "% time seconds usecs/call calls [errors] syscall"
            if (f.Length >= 5 && double.TryParse(f[0], out _) && int.TryParse(f[3], out int n) && f[^1] != "total") calls[f[^1]] = n;
        }
        return calls;
    }

    private static int Count(Dictionary<string, int> calls, string name) => calls.GetValueOrDefault(name);

    /// <summary>open(2) answers differ for a root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (a unit's
    /// CapabilityBoundingSet=), and both share /var/cache/confine-exec: the capability set is part of the key, so
    /// the reduced root computes (and stores) its own closure instead of being served the full root's.</summary>
    [Fact]
    public void RootWithoutDacOverride_GetsItsOwnEntry_NotTheFullRootsHit()
    {
        if (ConfineExec.Launcher.Interop.Libc.getuid() != 0) Assert.Skip("needs root (the test drops capabilities from root)");
        string cache = Path.Combine(Dir.Subdirectory("caps", (UnixFileMode)0x1ff), "cache");
        var env = new Dictionary<string, string> { [Variable] = cache };
        AssertOk(Run(["--print-closure", Program], env: env));
        Assert.Single(Directory.GetFiles(cache));

        string[] reduced = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all",
            fixture.Binary, "--print-closure", Program];
        RunResult r = ProcessRunner.Run(reduced, env);
        AssertOk(r);
        string[] files = Directory.GetFiles(cache);
        Assert.Equal(2, files.Length);
        var inodes = files.Select(f => (f, new Mono.Unix.UnixFileInfo(f).Inode)).ToList();
        AssertOk(ProcessRunner.Run(reduced, env));
        // That entry is then hit, not rewritten (a store renames a new file, with a new inode, over the name).
        Assert.All(inodes, e => Assert.Equal(e.Inode, new Mono.Unix.UnixFileInfo(e.f).Inode));
    }

    public static TheoryData<string[], bool> Actions => new()
    {
        { ["--print-closure", Program], false },
        { ["--print-closure", Program], true },
        { ["--print-closure", "--json", Program], false },
        { ["--explain", Program], false },
        { ["--dry-run", Program, "--version"], false },
        { ["--dry-run", Program, "--version"], true },
    };

    [Theory]
    [MemberData(nameof(Actions))]
    public void SecondIdenticalRun_IsServedFromTheCache_WithIdenticalOutput(string[] args, bool asNobody)
    {
        string cache = Path.Combine(Dir.Subdirectory("c", (UnixFileMode)0x1ff), "cache");
        var env = new Dictionary<string, string> { [Variable] = cache };
        var cold = Syscalls(["--no-closure-cache", .. args], asNobody, env, out RunResult live);
        AssertOk(live);
        Assert.False(Directory.Exists(cache));

        RunResult first = Run(args, asNobody, env);
        AssertOk(first);
        string file = Assert.Single(Directory.GetFiles(cache));
        var hit = Syscalls(args, asNobody, env, out RunResult second);
        AssertOk(second);
        // What start-up itself costs (the static C library reads /proc/self/exe once): not part of any scan.
        var startup = Syscalls(["--version"], asNobody, env, out RunResult version);
        AssertOk(version);

        Assert.Equal(live.Stdout, first.Stdout);
        Assert.Equal(live.Stdout, second.Stdout);
        Assert.Equal(live.Stderr, second.Stderr);
        // The scan reads every object's headers with pread and walks every link with readlink; a hit does neither.
        Assert.True(Count(cold, "pread64") >= 20 && Count(cold, "readlink") >= 5, string.Join(", ", cold));
        Assert.True(Count(hit, "pread64") <= Count(cold, "pread64") - 20, $"hit {string.Join(", ", hit)}; cold {string.Join(", ", cold)}");
        Assert.Equal(Count(startup, "readlink"), Count(hit, "readlink"));
        Assert.Equal(file, Assert.Single(Directory.GetFiles(cache)));
        Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(cache));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(file));
    }

    [Fact]
    public void Launch_StoresThenUsesTheCache()
    {
        string cache = Path.Combine(Dir.Path, "cache");
        var env = new Dictionary<string, string> { [Variable] = cache };
        RunResult first = Run(["--", Program, "--version"], env: env);
        AssertOk(first);
        Assert.StartsWith("git version", first.Stdout);
        string file = Assert.Single(Directory.GetFiles(cache));
        DateTime written = File.GetLastWriteTimeUtc(file);
        RunResult second = Run(["--", Program, "--version"], env: env);
        AssertOk(second);
        Assert.Equal(first.Stdout, second.Stdout);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Assert.Single(Directory.GetFiles(cache)))); // a hit writes nothing
    }

    [Fact]
    public void DefaultLocation_AsRoot_IsVarCache()
    {
        bool existed = Directory.Exists(SystemCache);
        string[] before = existed ? Directory.GetFiles(SystemCache) : [];
        string home = Dir.Subdirectory("home"), xdg = Path.Combine(Dir.Path, "xdg");
        try
        {
            AssertOk(Run(["--print-closure", "/usr/bin/true"], env: new() { ["HOME"] = home, ["XDG_CACHE_HOME"] = xdg }, unset: [Variable]));
            Assert.True(Directory.Exists(SystemCache));
            if (!existed) Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(SystemCache));
            Assert.Single(Directory.GetFiles(SystemCache).Except(before));
            Assert.Empty(Directory.GetFileSystemEntries(home));
            Assert.False(Directory.Exists(xdg));
        }
        finally
        {
            if (!existed) { if (Directory.Exists(SystemCache)) Directory.Delete(SystemCache, recursive: true); }
            else foreach (string f in Directory.GetFiles(SystemCache).Except(before)) File.Delete(f);
        }
    }

    [Fact]
    public void DefaultLocation_AsNobody_IsXdgCacheHomeElseHomeCache()
    {
        string home = Dir.Subdirectory("home", (UnixFileMode)0x1ff);
        AssertOk(Run(["--print-closure", "/usr/bin/true"], asNobody: true, env: new() { ["HOME"] = home }, unset: [Variable, "XDG_CACHE_HOME"]));
        string homeCache = Path.Combine(home, ".cache", "confine-exec");
        Assert.Single(Directory.GetFiles(homeCache));
        foreach (string d in new[] { Path.Combine(home, ".cache"), homeCache })
        {
            Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(d));
            Assert.Equal(ProcessRunner.Nobody.ToString(), ProcessRunner.Run(["stat", "-c", "%u", d]).Stdout.Trim());
        }

        // XDG_CACHE_HOME wins over HOME; its missing parents are created.
        string other = Dir.Subdirectory("home2", (UnixFileMode)0x1ff);
        string xdg = Path.Combine(Dir.Subdirectory("x", (UnixFileMode)0x1ff), "a", "b");
        AssertOk(Run(["--print-closure", "/usr/bin/true"], asNobody: true, env: new() { ["HOME"] = other, ["XDG_CACHE_HOME"] = xdg }, unset: [Variable]));
        Assert.Single(Directory.GetFiles(Path.Combine(xdg, "confine-exec")));
        Assert.Empty(Directory.GetFileSystemEntries(other));

        // A relative XDG_CACHE_HOME is ignored (the XDG spec); no HOME at all: no cache, and no error.
        string third = Dir.Subdirectory("home3", (UnixFileMode)0x1ff);
        AssertOk(Run(["--print-closure", "/usr/bin/true"], asNobody: true, env: new() { ["HOME"] = third, ["XDG_CACHE_HOME"] = "rel" }, unset: [Variable]));
        Assert.Single(Directory.GetFiles(Path.Combine(third, ".cache", "confine-exec")));
        AssertOk(Run(["--print-closure", "/usr/bin/true"], asNobody: true, unset: [Variable, "HOME", "XDG_CACHE_HOME"]));
    }

    [Fact]
    public void NoClosureCacheFlag_AndEmptyVariable_WriteNothing()
    {
        string cache = Path.Combine(Dir.Path, "cache");
        AssertOk(Run(["--no-closure-cache", "--print-closure", Program], env: new() { [Variable] = cache }));
        AssertOk(Run(["--no-closure-cache", "--dry-run", Program], env: new() { [Variable] = cache }));
        Assert.False(Directory.Exists(cache));

        bool existed = Directory.Exists(SystemCache);
        string[] before = existed ? Directory.GetFiles(SystemCache) : [];
        AssertOk(Run(["--print-closure", Program], env: new() { [Variable] = "" }));
        Assert.Equal(existed, Directory.Exists(SystemCache));
        if (existed) Assert.Equal(before, Directory.GetFiles(SystemCache));
    }

    public static TheoryData<string, bool> Unusable => new()
    {
        { "parent not writable", true },
        { "owned by root, 0700", true },
        { "under /proc", false },
        { "world-writable", false },
        { "relative", false },
        { "immutable", false },
    };

    [Theory]
    [MemberData(nameof(Unusable))]
    public void UnusableLocation_StillWorks_AndStoresNothing(string how, bool asNobody)
    {
        string cache = how switch
        {
            "parent not writable" => Path.Combine(Dir.Subdirectory("ro"), "cache"),
            "owned by root, 0700" => Dir.Subdirectory("private", (UnixFileMode)0x1c0),
            "under /proc" => "/proc/confine-exec-cache",
            "world-writable" => Dir.Subdirectory("open", (UnixFileMode)0x1ff),
            "relative" => "confine-exec-cache",
            _ => Dir.Subdirectory("immutable", (UnixFileMode)0x1c0),
        };
        if (how == "immutable") Assert.Equal(0, ProcessRunner.Run(["chattr", "+i", cache]).ExitCode);
        try
        {
            var env = new Dictionary<string, string> { [Variable] = cache };
            RunResult live = Run(["--no-closure-cache", "--print-closure", Program], asNobody, env);
            AssertOk(live);
            for (int i = 0; i < 2; i++)
            {
                RunResult r = Run(["--print-closure", Program], asNobody, env);
                AssertOk(r);
                Assert.Equal(live.Stdout, r.Stdout);
                Assert.Equal("", r.Stderr);
            }
            if (how == "relative") Assert.False(Directory.Exists("/" + cache));
            else if (!cache.StartsWith("/proc/", StringComparison.Ordinal) && Directory.Exists(cache)) Assert.Empty(Directory.GetFileSystemEntries(cache));
            else Assert.False(Directory.Exists(cache));
        }
        finally
        {
            if (how == "immutable") ProcessRunner.Run(["chattr", "-i", cache]);
        }
    }
}
