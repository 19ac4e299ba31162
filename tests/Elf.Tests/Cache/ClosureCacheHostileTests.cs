using ConfineExec.Elf.Tests.Closure;

namespace ConfineExec.Elf.Tests.Cache;

/// <summary>Cache files and directories that are not what a store wrote, or not ours: each is ignored (a live
/// scan answers, never an error), and a damaged file is replaced by the next store.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClosureCacheHostileTests : IDisposable
{
    private readonly FixtureDirectory _fx = new();
    private readonly ClosureCache _cache;
    private readonly string _dir;
    private static readonly ClosureRequest Git = new() { Program = "/usr/bin/git" };
    private static readonly ClosureRequest True = new() { Program = "/usr/bin/true", BinSh = null };

    public ClosureCacheHostileTests()
    {
        _cache = CacheAssert.Open(_fx);
        _dir = _fx.P("cache");
    }

    public void Dispose()
    {
        _cache.Dispose();
        _fx.Dispose();
    }

    /// <summary>Stores the closure of git and returns its file and bytes.</summary>
    private (string File, byte[] Bytes) Stored()
    {
        CacheAssert.StoreAndHit(_cache, Git);
        string file = CacheAssert.OnlyFile(_dir);
        return (file, File.ReadAllBytes(file));
    }

    /// <summary>The lookup ignores the file for <paramref name="why"/>; the next scan replaces it with a good one.</summary>
    private void IgnoredThenReplaced(ClosureCacheLookup why)
    {
        Assert.Null(_cache.TryLoad(Git));
        Assert.Equal(why, _cache.LastOutcome.Lookup);
        var live = _cache.GetOrBuild(Git);
        CacheAssert.Same(ClosureBuilder.Build(Git), live);
        Assert.Equal(ClosureCacheStore.Stored, _cache.LastOutcome.Store);
        string file = CacheAssert.OnlyFile(_dir);
        Assert.False(new FileInfo(file).LinkTarget is not null);
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(file));
        CacheAssert.Same(live, _cache.TryLoad(Git));
    }

    [Fact]
    public void SymlinkInPlaceOfTheFile_IsIgnored()
    {
        var (file, bytes) = Stored();
        string elsewhere = _fx.P("elsewhere");
        File.WriteAllBytes(elsewhere, bytes);
        File.SetUnixFileMode(elsewhere, (UnixFileMode)0x180);
        File.Delete(file);
        File.CreateSymbolicLink(file, elsewhere);
        IgnoredThenReplaced(ClosureCacheLookup.Untrusted);
        Assert.True(File.Exists(elsewhere)); // the link was replaced, not written through
    }

    [Theory]
    [InlineData(0x1b6)] // 0666
    [InlineData(0x190)] // 0620
    [InlineData(0x182)] // 0602
    public void WritableByOthers_IsIgnored(int mode)
    {
        var (file, _) = Stored();
        File.SetUnixFileMode(file, (UnixFileMode)mode);
        IgnoredThenReplaced(ClosureCacheLookup.Untrusted);
    }

    [Fact]
    public void OwnedByAnotherUser_IsIgnored()
    {
        Assert.SkipUnless(Environment.UserName == "root", "chown needs root");
        var (file, _) = Stored();
        FixtureDirectory.Run("chown", ["65534:65534", file]);
        IgnoredThenReplaced(ClosureCacheLookup.Untrusted);
    }

    [Fact]
    public void Fifo_IsIgnored_WithoutBlocking()
    {
        var (file, _) = Stored();
        File.Delete(file);
        FixtureDirectory.Run("mkfifo", ["-m", "0600", file]);
        IgnoredThenReplaced(ClosureCacheLookup.Untrusted);
    }

    [Fact]
    public void Truncated_AtEveryLength_IsIgnored()
    {
        CacheAssert.StoreAndHit(_cache, True);
        string file = CacheAssert.OnlyFile(_dir);
        byte[] bytes = File.ReadAllBytes(file);
        for (int n = 0; n < bytes.Length; n++)
        {
            File.WriteAllBytes(file, bytes[..n]);
            Assert.Null(_cache.TryLoad(True));
            Assert.Equal(ClosureCacheLookup.Corrupt, _cache.LastOutcome.Lookup);
        }
        File.WriteAllBytes(file, bytes);
        Assert.NotNull(_cache.TryLoad(True));
    }

    [Fact]
    public void AnyByteChanged_IsNeverAHit()
    {
        CacheAssert.StoreAndHit(_cache, True);
        string file = CacheAssert.OnlyFile(_dir);
        byte[] bytes = File.ReadAllBytes(file);
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] flipped = (byte[])bytes.Clone();
            flipped[i] ^= (byte)(1 << (i % 8));
            File.WriteAllBytes(file, flipped);
            Assert.Null(_cache.TryLoad(True));
        }
    }

    [Fact]
    public void RandomBytes_AreIgnored()
    {
        var (file, bytes) = Stored();
        var random = new Random(12345);
        foreach (int length in new[] { 0, 1, 19, 20, 64, bytes.Length, 1 << 20 })
        {
            byte[] junk = new byte[length];
            random.NextBytes(junk);
            File.WriteAllBytes(file, junk);
            Assert.Null(_cache.TryLoad(Git));
            Assert.Equal(ClosureCacheLookup.Corrupt, _cache.LastOutcome.Lookup);
        }
        IgnoredThenReplaced(ClosureCacheLookup.Corrupt);
    }

    [Fact]
    public void ValidFileOfAnotherKey_UnderThisName_IsIgnored()
    {
        // A hash collision: the name matches, the key text inside does not.
        CacheAssert.StoreAndHit(_cache, True);
        File.Move(CacheAssert.OnlyFile(_dir), _fx.P("true-file"));
        var (gitFile, _) = Stored();
        File.Copy(_fx.P("true-file"), gitFile, overwrite: true);
        File.SetUnixFileMode(gitFile, (UnixFileMode)0x180);
        IgnoredThenReplaced(ClosureCacheLookup.OtherKey);
    }

    [Theory]
    [InlineData("mode 0777")]
    [InlineData("mode 0770")]
    [InlineData("other owner")]
    [InlineData("symlink")]
    [InlineData("regular file")]
    public void UntrustedDirectory_IsNoCache(string how)
    {
        string dir = _fx.P("d");
        switch (how)
        {
            case "mode 0777": Directory.CreateDirectory(dir); File.SetUnixFileMode(dir, (UnixFileMode)0x1ff); break;
            case "mode 0770": Directory.CreateDirectory(dir); File.SetUnixFileMode(dir, (UnixFileMode)0x1f8); break;
            case "other owner":
                Assert.SkipUnless(Environment.UserName == "root", "chown needs root");
                Directory.CreateDirectory(dir); File.SetUnixFileMode(dir, (UnixFileMode)0x1c0); FixtureDirectory.Run("chown", ["65534", dir]); break;
            case "symlink": Directory.CreateDirectory(_fx.P("real")); File.SetUnixFileMode(_fx.P("real"), (UnixFileMode)0x1c0); File.CreateSymbolicLink(dir, "real"); break;
            case "regular file": File.WriteAllText(dir, ""); break;
        }
        Assert.Null(ClosureCache.Open(dir));
    }

    [Fact]
    public void MissingDirectory_IsCreatedPrivate_ParentsOnlyWhenAsked()
    {
        Assert.Null(ClosureCache.Open(_fx.P("x/y/cache")));
        Assert.False(Directory.Exists(_fx.P("x")));
        using (var c = ClosureCache.Open(_fx.P("x/y/cache"), createParents: true)) Assert.NotNull(c);
        foreach (string d in new[] { "x", "x/y", "x/y/cache" })
            Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(_fx.P(d)));
        Assert.Null(ClosureCache.Open("relative/cache"));
        Assert.Null(ClosureCache.Open(""));
    }

    [Fact]
    public void UnwritableDirectory_StillAnswers()
    {
        string dir = _fx.P("ro");
        using var cache = ClosureCache.Open(dir)!;
        // r-x------, and immutable: root writes through mode bits (as into a read-only root file system, it cannot).
        File.SetUnixFileMode(dir, (UnixFileMode)0x140);
        if (Environment.UserName == "root") FixtureDirectory.Run("chattr", ["+i", dir]);
        try
        {
            var live = cache.GetOrBuild(True);
            CacheAssert.Same(ClosureBuilder.Build(True), live);
            Assert.Equal(ClosureCacheStore.WriteFailed, cache.LastOutcome.Store);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            if (Environment.UserName == "root") FixtureDirectory.Run("chattr", ["-i", dir]);
            File.SetUnixFileMode(dir, (UnixFileMode)0x1c0);
        }
    }
}
