using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>
/// Issue 3's "must show" list against the published binary, each as root and as uid 65534. Every test checks
/// the host mount table is unchanged and nothing new appeared in /tmp or /run.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ConfineExecBinaryTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();

    public void Dispose() => _before.AssertUnchanged();

    public static TheoryData<bool> Users => new() { false, true };

    private static string Uid(bool asNobody) => asNobody ? "65534" : "0";

    // Until the closure stops emitting both "/bin/sh" (bind) and "/usr/bin/sh -> dash" (symlink) on a merged-/usr
    // host (the same inode inside the root), tests other than the default-mode one pass --bin-sh none; /bin/sh is
    // then still in the root as part of the program's own closure.
    private static readonly string[] s_noBinSh = ["--bin-sh", "none"];

    private RunResult Run(bool asNobody, params string[] args) => fixture.Run([.. s_noBinSh, .. args], asNobody);

    private static void AssertOk(RunResult r, string? stdout = null)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        if (stdout is not null)
            Assert.Equal(stdout, r.Stdout);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void DefaultMode_ShEchoOk_Works(bool asNobody) =>
        AssertOk(fixture.Run(["--", "/bin/sh", "-c", "echo ok"], asNobody), "ok\n");

    [Theory]
    [MemberData(nameof(Users))]
    public void ChrootOnly_ListRoot_ShowsExactlyClosureTopLevel(bool asNobody)
    {
        string[] options = ["--mode", "chroot-only", "--package", "/usr/bin/ls", "--"];
        RunResult closure = Run(asNobody, ["--print-closure", .. options, "/usr/bin/ls", "-1", "/"]);
        AssertOk(closure);
        var expected = closure.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries)[0]).Distinct().Order(StringComparer.Ordinal);
        RunResult ls = Run(asNobody, [.. options, "/usr/bin/ls", "-1", "/"]);
        AssertOk(ls);
        Assert.Equal(expected, ls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("proc", ls.Stdout.Split('\n'));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void ChrootOnly_Id_IsUnchanged(bool asNobody) =>
        AssertOk(Run(asNobody, "--mode", "chroot-only", "--package", "/usr/bin/id", "--", "/usr/bin/id", "-u"), Uid(asNobody) + "\n");

    [Theory]
    [MemberData(nameof(Users))]
    public void ChrootOnly_CreateFileAnywhere_FailsWithEROFS(bool asNobody)
    {
        RunResult r = Run(asNobody, "--mode", "chroot-only", "--", "/bin/sh", "-c",
            "for f in /x /usr/x /usr/lib/x86_64-linux-gnu/confine-exec-x; do ( : > $f ) 2>&1; done; true");
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("Read-only file system", l));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void FullApivfs_ApiFileSystems_AreThereAndPrivate(bool asNobody)
    {
        string script = string.Join("; ",
            "stat -f -c %T /proc /sys", "echo x > /dev/null && echo null-ok",
            "ls -A /tmp /dev/shm", "echo a > /tmp/a && echo a > /dev/shm/a && echo writable",
            "[ -e /etc ] && echo etc-present || echo etc-absent", "id -u");
        RunResult r = Run(asNobody, "--package", "/usr/bin/stat", "--package", "/usr/bin/ls", "--package", "/usr/bin/id", "--", "/bin/sh", "-c", script);
        AssertOk(r, $"proc\nsysfs\nnull-ok\n/dev/shm:\n\n/tmp:\nwritable\netc-absent\n{Uid(asNobody)}\n");
    }

    /// <summary>ProtectKernelTunables covers /proc/kallsyms with an empty 0000 file bound read-only; the file is made in
    /// the root tmpfs and unlinked once bound, so nothing of it is left in the root's top level.</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void FullApivfs_KallsymsCover_IsEmpty0000ReadOnly_AndLeavesNoFileInRoot(bool asNobody)
    {
        string script = string.Join("; ",
            "stat -c '%a %s %u' /proc/kallsyms", "ls -A /",
            "while read id parent dev root point opts rest; do [ $point = /proc/kallsyms ] && echo \"$root ${opts%%,*}\"; done < /proc/self/mountinfo",
            "( : >> /proc/kallsyms ) 2>/dev/null && echo write-ok; echo done");
        RunResult r = Run(asNobody, "--package", "/usr/bin/stat", "--package", "/usr/bin/ls", "--", "/bin/sh", "-c", script);
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"0 0 {Uid(asNobody)}", lines[0]);
        Assert.DoesNotContain(lines, l => l.Contains("inaccessible", StringComparison.Ordinal) && !l.Contains(' '));
        Assert.Contains("/.confine-exec-inaccessible//deleted ro", lines);
        Assert.Equal("done", lines[^1]);
        Assert.DoesNotContain("write-ok", lines);
    }

    /// <summary>ProtectControlGroups: every mount at or under /sys/fs/cgroup is read-only where PROGRAM sees it. With ProtectKernelTunables
    /// the read-only /sys already makes them so, and each appears once (no read-only copy stacked on the tree);
    /// without it /sys stays writable and the cgroup tree gets its own read-only remount.</summary>
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void FullApivfs_ControlGroups_ReadOnlyOnce(bool asNobody, bool protectKernelTunables)
    {
        if (!Directory.Exists("/sys/fs/cgroup"))
            Assert.Skip("this machine has no /sys/fs/cgroup");
        RunResult r = Run(asNobody, "--package", "/usr/bin/cat", "-p", "ProtectKernelTunables=" + (protectKernelTunables ? "yes" : "no"),
            "--", "/usr/bin/cat", "/proc/self/mountinfo");
        AssertOk(r);
        string[][] mounts = [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))];
        string[][] cgroup = [.. mounts.Where(f => f[4] == "/sys/fs/cgroup" || f[4].StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal))];
        Assert.NotEmpty(cgroup);
        // The last mount at a point is the one on top, the one PROGRAM sees.
        Assert.All(cgroup.GroupBy(f => f[4]), g => Assert.Contains("ro", g.Last()[5].Split(',')));
        string[] sys = mounts.Single(f => f[4] == "/sys")[5].Split(',');
        Assert.Equal(protectKernelTunables, sys.Contains("ro"));
        if (protectKernelTunables)
            Assert.Equal(cgroup.Length, cgroup.Select(f => f[4]).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void FullApivfs_PrivilegedOperations_Fail(bool asNobody)
    {
        string script = string.Join("; ",
            "touch /tmp/x", $"chown {(asNobody ? 0 : 65534)} /tmp/x 2>/dev/null && echo chown-ok",
            "( : >> /usr/bin/dash ) 2>/dev/null && echo write-ok",
            "( : >> /usr/lib/x86_64-linux-gnu/libc.so.6 ) 2>/dev/null && echo write-ok",
            "mount -t tmpfs none /tmp 2>/dev/null && echo mount-ok",
            "umount /proc 2>/dev/null && echo umount-ok", "echo done");
        RunResult r = Run(asNobody, "--package", "/usr/bin/touch", "--package", "/usr/bin/chown", "--package", "/usr/bin/mount",
            "--package", "/usr/bin/umount", "--", "/bin/sh", "-c", script);
        AssertOk(r, "done\n");
    }

    /// <summary>bench/phases.sh's timing is compiled in only with -p:ConfineExecPhases=true (every mark is
    /// [Conditional]): the product image writes no phase line and holds none of its text.</summary>
    [Fact]
    public void ProductImage_HasNoPhaseTiming()
    {
        RunResult r = Run(false, "--mode", "chroot-only", "--", "/usr/bin/true");
        AssertOk(r);
        Assert.DoesNotContain("confine-exec phases", r.Stderr, StringComparison.Ordinal);
        byte[] image = File.ReadAllBytes(fixture.Binary);
        Assert.Equal(-1, image.AsSpan().IndexOf(System.Text.Encoding.Unicode.GetBytes("confine-exec phases")));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void Exit_Status42_Propagates(bool asNobody)
    {
        var (how, r) = fixture.RunReportingDeath([.. s_noBinSh, "--", "/bin/sh", "-c", "exit 42"], asNobody);
        Assert.True(how == "exit 42", r.ToString());
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void Exit_ProgramKilledBySigkill_LauncherDiesOfSigkill(bool asNobody)
    {
        var (how, r) = fixture.RunReportingDeath([.. s_noBinSh, "--", "/bin/sh", "-c", "kill -KILL $$"], asNobody);
        Assert.True(how == "signal 9", r.ToString());
    }

    /// <summary>A bind destination is chased through the root's own links (systemd's chase inside the root): on
    /// merged /usr, /bin/sh leads through /bin -> usr/bin and /usr/bin/sh -> dash to /usr/bin/dash, so the bind
    /// and the closure's links coexist instead of colliding on /usr/bin/sh.</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void Bind_DestinationThroughClosureLinks_LandsOnTheLinkTarget(bool asNobody)
    {
        Assert.SkipUnless(new FileInfo("/bin").LinkTarget is not null, "the host is not merged-/usr");
        AssertOk(fixture.Run(["-p", "BindReadOnlyPaths=/bin/sh", "--", "/bin/sh", "-c", "echo ok"], asNobody), "ok\n");
    }

    /// <summary>The runtime ignores SIGPIPE inside confine-exec; PROGRAM must not inherit that (a pipeline
    /// reader closing early must end a writer such as <c>yes</c>).</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void Signal_ProgramStartsWithSigpipeDefault(bool asNobody)
    {
        RunResult r = Run(asNobody, "--", "/bin/sh", "-c",
            "while read k v; do [ \"$k\" = SigIgn: ] && echo $v; done < /proc/self/status; exit 0");
        Assert.True(r.ExitCode == 0, r.ToString());
        ulong ignored = ulong.Parse(r.Stdout.Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True((ignored & (1UL << (13 - 1))) == 0, $"SIGPIPE ignored in PROGRAM: SigIgn={r.Stdout.Trim()}");
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void Signal_SigtermToLauncher_ReachesProgram(bool asNobody)
    {
        using var p = fixture.Start([.. s_noBinSh, "--package", "/usr/bin/sleep", "--", "/bin/sh", "-c",
            "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"], asNobody);
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        ConfineExec.Launcher.Interop.Libc.Kill(p.Id, 15);
        string rest = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal("got-term\n", rest);
        Assert.Equal(3, p.ExitCode);
    }

    /// <summary>A SIGTERM that arrives while the child is still building the root reaches the child: the launcher
    /// forwards it to the pid the clone reported, the child (its handlers already back at the defaults, its second
    /// step) dies of it before exec, so PROGRAM never runs, and the launcher dies of the same signal. 3000 binds keep
    /// the child in its setup for about 0.1 s, long enough to be caught there. The launcher's thread sleeps in the
    /// memory-sharing clone meanwhile: with the runtime's signal thread forwarding, its allocations ended a nearly
    /// used-up no-GC region and the launcher aborted (PlanExecutor.NoGcRegionReserve); the image now forwards
    /// with a C handler (src/launcher/Native/signal-forwarder.c), which this also covers.</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void Signal_SigtermDuringChildSetup_EndsItBeforeExec(bool asNobody)
    {
        using var dir = new SharedDirectory();
        string files = dir.Subdirectory("files");
        var args = new List<string>(s_noBinSh);
        for (int i = 0; i < 3000; i++)
        {
            string f = Path.Combine(files, "f" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.WriteAllText(f, "");
            args.Add("-p");
            args.Add("BindReadOnlyPaths=" + f);
        }
        args.AddRange(["--", "/bin/sh", "-c", "echo ran; exec sleep 30"]);

        using var p = fixture.Start(args, asNobody);
        string children = $"/proc/{p.Id}/task/{p.Id}/children";
        var waited = System.Diagnostics.Stopwatch.StartNew();
        // The child exists once the launcher has cloned it; until it execs it is in its setup.
        while (!p.HasExited && File.ReadAllText(children).Trim().Length == 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "no child appeared");
            Thread.Sleep(1);
        }
        ConfineExec.Launcher.Interop.Libc.Kill(p.Id, 15);
        Assert.True(p.WaitForExit(20_000), "the launcher did not end after SIGTERM");
        string stderr = p.StandardError.ReadToEnd();
        Assert.Equal("", p.StandardOutput.ReadToEnd());
        Assert.True(p.ExitCode == 128 + 15, $"exit {p.ExitCode}, after {waited.ElapsedMilliseconds} ms; stderr: {stderr}");
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void Failure_MountPointInsideProc_OneLineNamingStepPathErrno(bool asNobody)
    {
        RunResult r = Run(asNobody, "-p", "BindReadOnlyPaths=/usr/bin/dash:/proc/confine-exec-x", "--", "/bin/sh", "-c", "true");
        Assert.Equal(125, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^confine-exec: bind-ro \\([a-z_0-9]+\\): /proc/confine-exec-x: E[A-Z]+ \\(.+\\)$", line);
    }

    /// <summary>WorkingDirectory=-PATH (systemd's missing_ok): a directory missing from the root leaves PROGRAM in /,
    /// one that is there is entered; without the '-' a missing one fails the launch with one line, 125.</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void WorkingDirectory_DashPrefix_MissingIsNotFatal(bool asNobody)
    {
        AssertOk(Run(asNobody, "-p", "WorkingDirectory=-/srv/confine-exec-missing", "--package", "/usr/bin/pwd", "--", "/usr/bin/pwd"), "/\n");
        AssertOk(Run(asNobody, "-p", "WorkingDirectory=-/usr/bin", "--package", "/usr/bin/pwd", "--", "/usr/bin/pwd"), "/usr/bin\n");
        RunResult r = Run(asNobody, "-p", "WorkingDirectory=/srv/confine-exec-missing", "--package", "/usr/bin/pwd", "--", "/usr/bin/pwd");
        Assert.Equal(125, r.ExitCode);
        Assert.Equal("confine-exec: chdir (chdir): /srv/confine-exec-missing: ENOENT (No such file or directory)",
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Contains("chdir /srv/confine-exec-missing if-exists\n",
            Run(asNobody, "--dry-run", "-p", "WorkingDirectory=-/srv/confine-exec-missing", "--", "/usr/bin/true").Stdout);
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void Failure_ProgramMissingInsideRoot_Exits127(bool asNobody)
    {
        RunResult r = Run(asNobody, "--", "/usr/bin/does-not-exist-confine-exec");
        Assert.Equal(127, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [MemberData(nameof(Users))]
    public void ParentDeath_LauncherSigkilled_ProgramDiesToo(bool asNobody)
    {
        using var p = fixture.Start([.. s_noBinSh, "--", "/bin/sh", "-c", "echo $$; while :; do :; done"], asNobody);
        int program = int.Parse(p.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Directory.Exists($"/proc/{program}"));
        ConfineExec.Launcher.Interop.Libc.Kill(p.Id, 9);
        p.WaitForExit();
        // PROGRAM is a child of the (now dead) launcher: it gets SIGKILL and is reparented and reaped.
        while (File.Exists($"/proc/{program}/status") && !File.ReadAllText($"/proc/{program}/status").Contains("State:\tZ", StringComparison.Ordinal))
            Thread.Sleep(10);
        Assert.False(File.Exists($"/proc/{program}/status") && !File.ReadAllText($"/proc/{program}/status").Contains("State:\tZ", StringComparison.Ordinal));
    }

    [Fact]
    public void SocketActivation_ListenFds_PassedAndListenPidIsPrograms()
    {
        string script = "exec 3</etc/hostname 4</etc/hostname; export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" --bin-sh none -- /bin/sh -c " +
            "'echo $LISTEN_PID $$; for fd in 3 4 5; do [ -e /proc/self/fd/$fd ] && echo open $fd; done; true'";
        RunResult r = ProcessRunner.Run(["/bin/sh", "-c", script, fixture.Binary]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] pids = lines[0].Split(' ');
        Assert.Equal(pids[0], pids[1]);
        Assert.Equal(["open 3"], lines[1..]);
    }

    [Fact]
    public void InProcess_ChrootOnlyAsRoot_ProgramKeepsLauncherPid()
    {
        string script = "echo $$; exec \"$0\" --mode chroot-only --bin-sh none -- /bin/sh -c 'echo $$'";
        RunResult r = ProcessRunner.Run(["/bin/sh", "-c", script, fixture.Binary]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] pids = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, pids.Length);
        Assert.Equal(pids[0], pids[1]);
    }
}
