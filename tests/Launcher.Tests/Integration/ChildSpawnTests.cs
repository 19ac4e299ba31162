using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>
/// How the supervised child is started (PlanExecutor.Start): it shares the launcher's memory
/// (clone CLONE_VM|CLONE_VFORK) whenever it needs nothing from the parent, i.e. it can write its own user-namespace
/// maps (one id each, the writer's own); a multi-line map (root with User=) keeps the fork and the parent-written
/// maps. Observed with strace -f, which the launcher itself never runs under.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ChildSpawnTests(ConfineExecFixture fixture) : HostCheckedTest
{
    private const string Shared = "shared", Forked = "forked", None = "none";

    public static TheoryData<bool, string[], string> Spawns => new()
    {
        { false, [], Shared },                         // root, PrivateUsers=self: "0 0 1" written by the child
        { false, ["-p", "User=nobody"], Forked },      // root, "0 0 1" + "65534 65534 1": written from outside
        { false, ["--mode", "chroot-only"], None },    // root without a user namespace: in-process, no child
        { true, [], Shared },                          // unprivileged: user namespace first, self map
        { true, ["--mode", "chroot-only"], Shared },
    };

    /// <summary>The clone(2) calls confine-exec makes (thread creation is clone3 and not listed), as
    /// <see cref="Shared"/>/<see cref="Forked"/> per call.</summary>
    private List<string> Clones(bool asNobody, string[] options)
    {
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        var (r, trace) = Strace(Dir.Path, "clone", [.. launcher, "--bin-sh", "none", .. options, "--", "/usr/bin/true"]);
        AssertOk(r);
        return [.. trace.Where(l => l.Contains(" clone(", StringComparison.Ordinal))
            .Select(l => l.Contains("CLONE_VM|CLONE_VFORK", StringComparison.Ordinal) ? Shared
                : l.Contains("flags=SIGCHLD)", StringComparison.Ordinal) ? Forked : l)];
    }

    [Theory]
    [MemberData(nameof(Spawns))]
    public void Launch_ByCallerAndMaps_SharesMemoryExactlyWhenTheChildWritesItsOwnMaps(bool asNobody, string[] options, string expected)
    {
        List<string> clones = Clones(asNobody, options);
        Assert.Equal(expected == None ? [] : [expected], clones);
    }

    /// <summary>A launch that forks opens its no-GC region right after parsing (PlanExecutor.BeginNoGcRegionEarly).
    /// A plan of 4400 binds allocates more than that region holds: the runtime collects and ends it, and the
    /// launcher must open one again before the fork, or fall back to a full fork. Both are seen here: more than
    /// one collection (each suspends the other threads with a membarrier), then the memory-sharing clone.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Launch_PlanOutgrowsTheEarlyNoGcRegion_ChildStillSharesMemory(bool asNobody)
    {
        const int binds = 4400;
        var options = new List<string> { "--bin-sh", "none" };
        for (int i = 0; i < binds; i++)
        {
            string file = Path.Combine(Dir.Path, "f" + i);
            File.WriteAllText(file, "");
            options.Add("-p");
            options.Add("BindReadOnlyPaths=" + file);
        }
        string last = Path.Combine(Dir.Path, "f" + (binds - 1));
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        var (r, calls) = Strace(Dir.Path, "clone,membarrier", [.. launcher, .. options, "--", "/usr/bin/test", "-f", last]);
        AssertOk(r);
        Assert.True(calls.Count(l => l.Contains("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED,", StringComparison.Ordinal)) >= 2,
            "expected the region to be outgrown (more than one collection):\n" + string.Join('\n', calls));
        string[] clones = [.. calls.Where(l => l.Contains(" clone(", StringComparison.Ordinal))];
        Assert.Single(clones);
        Assert.Contains("CLONE_VM|CLONE_VFORK", clones[0], StringComparison.Ordinal);
    }

    [Fact]
    public void SelfWrittenMaps_AsRoot_SameIdsAndMapsAsTheParentWrote()
    {
        RunResult r = fixture.Run(["--package", "/usr/bin/cat", "--package", "/usr/bin/id", "--", "/bin/sh", "-c",
            "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id"]);
        AssertOk(r);
        string[][] lines = [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        Assert.Equal([["0", "0", "1"], ["0", "0", "1"], ["deny"], ["uid=0", "gid=0", "groups=0"]], lines);
    }

    [Fact]
    public void SelfWrittenMaps_HostProcDirectory_NotInheritedByProgram()
    {
        // The child opens the host's /proc/self before the mounts to write its maps after pivot_root; PROGRAM
        // must see only 0-2 and ls's own directory descriptor.
        RunResult r = fixture.Run(["--package", "/usr/bin/ls", "--", "/usr/bin/ls", "-l", "/proc/self/fd"]);
        AssertOk(r);
        string[] fds = [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => f[^3])];
        Assert.True(fds.SequenceEqual(["0", "1", "2", "3"]), r.Stdout);
        Assert.EndsWith("/fd", r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);
    }

    /// <summary>Blocks SIGUSR1, ignores SIGHUP and SIGPIPE, then execs argv[1..] (a caller such as nohup, or a
    /// service manager that ignores SIGPIPE).</summary>
    private const string SignalCaller = """
        #include <signal.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
          sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR1); sigprocmask(SIG_BLOCK, &s, 0);
          signal(SIGHUP, SIG_IGN); signal(SIGPIPE, SIG_IGN);
          execv(argv[1], argv + 1);
          return 127;
        }
        """;

    public static TheoryData<bool, string[]> StartPaths => new()
    {
        { false, [] },                                          // shared-memory child
        { false, ["-p", "User=nobody"] },                       // forked child
        { false, ["--mode", "chroot-only", "-p", "MountAPIVFS=yes"] }, // in-process
        { true, [] },
    };

    /// <summary>docs/cli-decisions.md (SIGPIPE): PROGRAM keeps the caller's signal mask and every signal the caller
    /// ignored, except SIGPIPE, which starts at SIG_DFL (confine-exec's runtime ignores it for itself), on every
    /// way the launcher can start it.</summary>
    [Theory]
    [MemberData(nameof(StartPaths))]
    public void Signals_EveryStartPath_CallerMaskAndIgnoresKeptSigpipeDefault(bool asNobody, string[] options)
    {
        string caller = CompileStatic(Dir.Path, "signal-caller", SignalCaller);
        string[] launcher = asNobody ? ProcessRunner.AsNobody([caller, fixture.Binary]) : [caller, fixture.Binary];
        RunResult r = ProcessRunner.Run([.. launcher, "--bin-sh", "none", .. options, "--", "/bin/sh", "-c",
            "while read k v; do case $k in SigIgn:|SigBlk:) echo $k $v;; esac; done < /proc/self/status"]);
        AssertOk(r);
        var status = Lines(r);
        Assert.Equal("0000000000000200", status["SigBlk:"]); // SIGUSR1
        Assert.Equal("0000000000000001", status["SigIgn:"]); // SIGHUP, not SIGPIPE (bit 12)
    }

    public static TheoryData<string[], string> MapWriters => new()
    {
        { [], "write /proc/self/uid_map (write): /proc/self/uid_map: EPERM" },             // the child writes
        { ["-p", "User=nobody"], "write user namespace map (write): /proc/" },             // the parent writes
    };

    /// <summary>Mapping outside uid 0 needs CAP_SETFCAP (kernel verify_root_map), whoever writes the map: a root
    /// caller without it fails at exactly that step, with one line and 125, and nothing left behind.</summary>
    [Theory]
    [MemberData(nameof(MapWriters))]
    public void UidMapWrite_RootWithoutSetfcap_OneLineExit125(string[] options, string expected)
    {
        RunResult r = ProcessRunner.Run(["setpriv", "--bounding-set=-setfcap", fixture.Binary, "--bin-sh", "none", .. options, "--", "/usr/bin/true"]);
        string line = AssertOneLineError(r, 125);
        Assert.Contains(expected, line);
        if (options.Length == 0)
            Assert.EndsWith("EPERM (Operation not permitted)", line);
    }
}
