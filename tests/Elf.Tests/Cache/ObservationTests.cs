namespace ConfineExec.Elf.Tests.Cache;

/// <summary>The rules one observation follows: what is compared, and when a file is too recent to be trusted.</summary>
public class ObservationTests
{
    private const long Second = 1_000_000_000;
    private const long Now = 1_700_000_000 * Second;
    private const uint Regular = 0x8000 | 0x1a4, Directory = 0x4000 | 0x1ed, Symlink = 0xA000 | 0x1ff;

    private static Observation Of(uint mode, long mtime, long ctime, ObservationFlags flags = ObservationFlags.Follow, int errno = 0) =>
        new("/x", flags, errno, new FileStamp(8, 1, 42, mode, 0, 0, 100, mtime, ctime));

    public static TheoryData<string, uint, long, long, int, bool> RecentCases => new()
    {
        { "changed 10 s ago", Regular, Now - 10 * Second, Now - 10 * Second, 1, false },
        { "ctime 1 s ago (mtime backdated)", Regular, Now - 3600 * Second, Now - Second, 1, true },
        { "mtime 1 s ago", Regular, Now - Second, Now - 10 * Second, 1, true },
        { "exactly 2 s ago", Regular, Now - 2 * Second, Now - 2 * Second, 1, true },
        { "2 s and 1 ns ago", Regular, Now - 2 * Second - 1, Now - 2 * Second - 1, 1, false },
        { "in the future", Regular, Now + 60 * Second, Now + 60 * Second, 1, true },
        { "symlink just made", Symlink, Now, Now, 0, true },
        { "directory just changed, not listed", Directory, Now, Now, 1, false },
        { "directory just changed, listed", Directory, Now, Now, 3, true },
    };

    [Theory]
    [MemberData(nameof(RecentCases))]
    public void IsRecent_TwoSecondWindow(string what, uint mode, long mtime, long ctime, int flags, bool recent)
    {
        Assert.True(Of(mode, mtime, ctime, (ObservationFlags)flags).IsRecent(Now, 2 * Second) == recent, what);
    }

    [Fact]
    public void IsRecent_AnErrno_NeverIs()
    {
        Assert.False(Of(0, 0, 0, errno: 2).IsRecent(Now, 2 * Second));
    }

    [Fact]
    public void IsRecent_ZeroWindow_OnlyTheFuture()
    {
        Assert.False(Of(Regular, Now - 1, Now - 1).IsRecent(Now, 0));
        Assert.True(Of(Regular, Now + 1, Now + 1).IsRecent(Now, 0));
    }

    [Fact]
    public void Same_DirectoryNotListed_IgnoresItsContentVersion()
    {
        var recorded = new FileStamp(8, 1, 42, Directory, 0, 0, 4096, Now, Now);
        var grown = recorded with { Size = 8192, MtimeNs = Now + Second, CtimeNs = Now + Second };
        Assert.True(Observation.Same(0, recorded, ObservationFlags.Follow, 0, grown));
        Assert.False(Observation.Same(0, recorded, ObservationFlags.Follow | ObservationFlags.Listing, 0, grown));
        Assert.False(Observation.Same(0, recorded, ObservationFlags.Follow, 0, recorded with { Mode = Directory & ~0x1u }));
        Assert.False(Observation.Same(0, recorded, ObservationFlags.Follow, 0, recorded with { Ino = 43 }));
    }

    [Fact]
    public void Same_RegularFile_EveryField()
    {
        var s = new FileStamp(8, 1, 42, Regular, 0, 0, 100, Now, Now);
        Assert.True(Observation.Same(0, s, ObservationFlags.Follow, 0, s));
        foreach (var other in new[] { s with { DevMajor = 9 }, s with { DevMinor = 2 }, s with { Ino = 1 }, s with { Mode = Regular | 0x40 },
                     s with { Uid = 1 }, s with { Gid = 1 }, s with { Size = 101 }, s with { MtimeNs = Now + 1 }, s with { CtimeNs = Now + 1 } })
            Assert.False(Observation.Same(0, s, ObservationFlags.Follow, 0, other));
        Assert.False(Observation.Same(0, s, ObservationFlags.Follow, 2, default));
        Assert.True(Observation.Same(2, default, ObservationFlags.Follow, 2, default));
        Assert.False(Observation.Same(2, default, ObservationFlags.Follow, 13, default));
    }

    [Fact]
    public void StatAndStatx_GiveTheSameStamp()
    {
        foreach (string path in new[] { "/usr/bin/git", "/usr", "/lib" })
        {
            Assert.Equal(0, Interop.Libc.LStat(path, out var st));
            Assert.Equal(0, Interop.Libc.Statx(path, follow: false, out var sx));
            Assert.Equal(sx, FileStamp.From(st));
        }
    }

    [Fact]
    public void Log_LstatOfANonLink_AnswersTheFollowedObservationToo()
    {
        var log = new ObservationLog();
        using (log.Activate())
        {
            Interop.Libc.LStat("/usr/bin/git", out _);
            Interop.Libc.Stat("/usr/bin/git", out _);
            int fd = Interop.Libc.OpenReadOnly("/usr/bin/git");
            Interop.Libc.close(fd);
            Interop.Libc.LStat("/lib", out _); // a link: its followed observation is another
            Interop.Libc.Stat("/lib", out _);
        }
        Assert.Equal(["/usr/bin/git", "/lib", "/lib"], log.Observations.Select(o => o.Path));
        Assert.Null(ObservationLog.Current);
    }

    [Fact]
    public void ToStore_LeavesOutWhatTheRestImplies()
    {
        var log = new ObservationLog();
        using (log.Activate()) ClosureBuilder.Build(new ClosureRequest { Program = "/usr/bin/git", BinSh = null });
        long now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        var stored = log.ToStore(now, 0);
        Assert.True(stored.Count < log.Observations.Count);
        int droppedLinks = 0;
        var kept = stored.ToDictionary(o => (o.Path, o.Follow));
        foreach (var o in log.Observations.Where(o => !kept.ContainsKey((o.Path, o.Follow))))
        {
            if (o.Follow)
            {
                // A library opened by its search path: its file is kept, unfollowed, with the same stamp.
                Assert.True(o.Errno == 0, o.Path);
                Assert.Contains(stored, k => !k.Follow && k.Stamp == o.Stamp);
            }
            else
            {
                // A link: its directory is kept with its content version.
                Assert.Equal(0xA000u, o.Stamp.Mode & 0xF000);
                droppedLinks++;
                string dir = o.Path[..o.Path.LastIndexOf('/')];
                Assert.Contains(stored, k => k.Path == dir && (k.Flags & ObservationFlags.Listing) != 0);
            }
        }
        Assert.True(droppedLinks >= 2, "git's libraries are links in /usr/lib/x86_64-linux-gnu");
        Assert.Equal(stored, log.ToStore(now, 0)); // the log is not changed by it
    }

    [Fact]
    public void ToStore_RecentlyChangedDirectory_KeepsItsLinks()
    {
        var log = new ObservationLog();
        using (log.Activate()) ClosureBuilder.Build(new ClosureRequest { Program = "/usr/bin/git", BinSh = null });
        long now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        var links = log.Observations.Count(o => !o.Follow && (o.Stamp.Mode & 0xF000) == 0xA000);
        // A window reaching back before any file existed: every directory counts as just changed.
        var stored = log.ToStore(now, now);
        Assert.Equal(links, stored.Count(o => !o.Follow && (o.Stamp.Mode & 0xF000) == 0xA000));
        Assert.DoesNotContain(stored, o => (o.Flags & ObservationFlags.Listing) != 0);
    }
}
