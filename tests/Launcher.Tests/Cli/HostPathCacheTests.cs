using ConfineExec.Launcher.CommandLine;
using ConfineExec.Launcher.Planning;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.CliTests;

/// <summary>
/// HostPathCache answers as the uncached host lookups do (HostPaths, an lstat), whether a name is statx'ed in its
/// directory or found in the directory's listing, which it reads once many names of one directory are asked for.
/// </summary>
public sealed class HostPathCacheTests : IDisposable
{
    readonly SharedDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ManyNamesOfOneDirectory_StatxedOrListed_AnswerAsTheHostDoes()
    {
        string d = _dir.Subdirectory("many");
        var names = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(d, "f" + i), "");
            names.Add("f" + i);
        }
        Directory.CreateDirectory(Path.Combine(d, "sub"));
        File.CreateSymbolicLink(Path.Combine(d, "to-file"), "f1");
        File.CreateSymbolicLink(Path.Combine(d, "to-sub"), Path.Combine(d, "sub"));
        File.CreateSymbolicLink(Path.Combine(d, "dangling"), "nowhere");
        Assert.Equal(0, ProcessRunner.Run(["mkfifo", Path.Combine(d, "fifo")]).ExitCode);
        // Files first (past the point where the directory is read), then the other kinds, then names that
        // appear only after the listing or never exist.
        names.InsertRange(200, ["sub", "to-file", "to-sub", "dangling", "fifo", "missing"]);

        var cache = new HostPathCache();
        try
        {
            foreach (string name in names)
                AssertSameAsHost(cache, Path.Combine(d, name));
            File.WriteAllText(Path.Combine(d, "late"), "");
            AssertSameAsHost(cache, Path.Combine(d, "late"));
            AssertSameAsHost(cache, Path.Combine(d, "sub", "inner-missing"));
            Assert.Equal(Path.Combine(d, "f1"), cache.RealPath(Path.Combine(d, "to-file")));
            Assert.Equal(BindSourceKind.Directory, cache.SourceKind(cache.RealPath(Path.Combine(d, "to-sub"))!));
            Assert.Null(cache.RealPath(Path.Combine(d, "dangling")));
            Assert.True(cache.Exists(Path.Combine(d, "dangling")));
        }
        finally { cache.Release(); }
    }

    static void AssertSameAsHost(HostPathCache cache, string path)
    {
        string? real = HostPaths.RealPath(path);
        Assert.Equal(real, cache.RealPath(path));
        Assert.Equal(HostPaths.Exists(path), cache.Exists(path));
        BindSourceKind kind = !Interop.Libc.TryFileTypeNoFollow(path, out int type, out _) ? BindSourceKind.Unknown : type switch
        {
            Interop.Libc.S_IFLNK => BindSourceKind.Unknown,
            Interop.Libc.S_IFDIR => BindSourceKind.Directory,
            _ => BindSourceKind.File,
        };
        Assert.Equal(kind, cache.SourceKind(path));
    }
}
