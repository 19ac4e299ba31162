using ConfineExec.Launcher.Execution;
using ConfineExec.Launcher.Planning;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>
/// Drives <see cref="PlanExecutor"/>'s ForkedChild path directly with hand-built plans, inside this (multi-
/// threaded CoreCLR, like native AOT) test host. PROGRAM writes its findings into a host directory bound
/// read-write at /out. Runs as root (the test host); the unprivileged path is covered through the binary.
/// </summary>
[Collection(nameof(ExecutorCollection))]
public sealed class ForkedExecutorTests : IDisposable
{
    private static readonly UnixFileMode Mode0777 = (UnixFileMode)0x1ff;
    private readonly SharedDirectory _dir = new();
    private readonly string _out;
    private readonly HostSnapshot _before;

    public ForkedExecutorTests()
    {
        if (Environment.UserName != "root" && Libc_getuid() != 0)
            Assert.Skip("the in-process executor tests need root (the test host cannot create a user namespace as it is multi-threaded)");
        _out = _dir.Subdirectory("out", Mode0777);
        _before = HostSnapshot.Take();
    }

    private static uint Libc_getuid() => ConfineExec.Launcher.Interop.Libc.getuid();

    public void Dispose()
    {
        try { _before.AssertUnchanged(); }
        finally { _dir.Dispose(); }
    }

    private static HandClosure Tools(params string[] programs)
    {
        var c = new HandClosure().AddProgram("/bin/sh");
        foreach (string p in programs)
            c.AddProgram(p);
        return c;
    }

    private List<SetupOp> WithOut(List<SetupOp> ops)
    {
        ops.Add(new BindOp(_out, "/out", ReadOnly: false));
        return ops;
    }

    private string Out(string name) => File.ReadAllText(Path.Combine(_out, name)).TrimEnd('\n');

    private static ChildExit Sh(List<SetupOp> ops, string script, UserNamespaceTiming userns = UserNamespaceTiming.None,
        uint? uid = null, uint? gid = null, IReadOnlyList<int>? dropCaps = null) =>
        PlanExecutor.RunForked(HandPlans.Plan(ops, ["/bin/sh", "-c", script], userns, uid, gid, dropCaps));

    [Fact]
    public void ChrootOnly_ListRoot_ShowsExactlyClosureTopLevelAndOut()
    {
        HandClosure closure = Tools("/usr/bin/ls", "/usr/bin/id");
        ChildExit exit = Sh(WithOut(HandPlans.ChrootOnlyOps(closure)), "ls -1 / > /out/ls; id -u > /out/id");
        Assert.Equal(new ChildExit(0, 0), exit);
        string[] expected = [.. closure.TopLevel, "out"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), Out("ls").Split('\n').Order(StringComparer.Ordinal));
        Assert.Equal("0", Out("id"));
    }

    [Theory]
    [InlineData("/newfile")]
    [InlineData("/usr/newfile")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6")]
    public void ChrootOnly_WriteAnywhere_FailsWithReadOnlyFileSystem(string path)
    {
        ChildExit exit = Sh(WithOut(HandPlans.ChrootOnlyOps(Tools())), $"( : >> {path} ) 2> /out/err; echo $? > /out/rc");
        Assert.Equal(0, exit.ExitCode);
        Assert.NotEqual("0", Out("rc"));
        Assert.Contains("Read-only file system", Out("err"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FileMountPoints_LinkedOrEachMade_AreEmpty0444FilesUnderTheirBinds(bool eachMade)
    {
        // Linked: every file mount point is a link of one O_TMPFILE file (its link count is the number of file
        // binds); without the links (kernels that refuse them) each is its own mknodat. Either way the bind
        // covers it, and what an unmount uncovers is an empty 0444 file.
        Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_LINKED_MOUNT_POINTS", eachMade ? "1" : null);
        try
        {
            List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools("/usr/bin/stat", "/usr/bin/umount")),
                new ProcOp(), // umount reads /proc/self/mountinfo
                new BindOp("/etc/hostname", "/srv/a", ReadOnly: true) { SourceKind = BindSourceKind.File },
                new BindOp("/etc/hostname", "/srv/b", ReadOnly: true) { SourceKind = BindSourceKind.File }];
            string script = "stat -c %s /srv/a > /out/bound; umount /srv/a && stat -c '%s %a %h' /srv/a > /out/under";
            Assert.Equal(new ChildExit(0, 0), Sh(WithOut(ops), script));
            Assert.Equal(new FileInfo("/etc/hostname").Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Out("bound"));
            string[] under = Out("under").Split(' ');
            Assert.Equal(["0", "444"], under[..2]);
            if (eachMade)
                Assert.Equal("1", under[2]);
            else
                Assert.True(int.Parse(under[2], System.Globalization.CultureInfo.InvariantCulture) >= 2, Out("under"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_LINKED_MOUNT_POINTS", null);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BindReadOnly_WithAndWithoutOpenTreeAttr_IsReadOnlyAndKeepsSourceFlags(bool withoutOpenTreeAttr)
    {
        // open_tree_attr (Linux 6.15) clones and sets MOUNT_ATTR_RDONLY in one call; before it, open_tree + mount_setattr.
        Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPEN_TREE_ATTR", withoutOpenTreeAttr ? "1" : null);
        try
        {
            string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
            ChildExit exit = Sh(WithOut(HandPlans.ChrootOnlyOps(Tools())), $"( : >> {libc} ) 2> /out/err; echo $? > /out/rc");
            Assert.Equal(0, exit.ExitCode);
            Assert.NotEqual("0", Out("rc"));
            Assert.Contains("Read-only file system", Out("err"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPEN_TREE_ATTR", null);
        }
    }

    [Fact]
    public void ChrootOnly_ProcSysDev_AreAbsent()
    {
        ChildExit exit = Sh(WithOut(HandPlans.ChrootOnlyOps(Tools())), "for d in /proc /sys /dev /run /tmp /etc; do [ -e $d ] && echo $d; done > /out/present; true");
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("", Out("present"));
    }

    [Fact]
    public void FullApivfs_AsRoot_ApiFileSystemsArePresentAndPrivate()
    {
        HandClosure closure = Tools("/usr/bin/stat", "/usr/bin/id", "/usr/bin/ls");
        string script = string.Join("; ",
            "stat -f -c %T /proc > /out/proc", "stat -f -c %T /sys > /out/sys",
            "echo x > /dev/null && echo ok > /out/null",
            "ls -A /tmp > /out/tmp-before; ls -A /dev/shm > /out/shm-before",
            "echo a > /tmp/a && echo a > /dev/shm/a && echo a > /var/tmp/a && echo ok > /out/writable",
            "[ -e /etc ] && echo present > /out/etc || echo absent > /out/etc",
            "id -u > /out/id",
            "cat /proc/kcore > /dev/null 2>&1 && echo readable > /out/kcore || echo denied > /out/kcore",
            "( echo 1 > /proc/sys/kernel/domainname ) 2> /out/procsys-err; echo $? > /out/procsys-rc");
        ChildExit exit = Sh(WithOut(HandPlans.FullApivfsOps(closure)), script, UserNamespaceTiming.AfterMounts, dropCaps: HandPlans.FullApivfsDroppedCaps);
        Assert.Equal(new ChildExit(0, 0), exit);
        Assert.Equal("proc", Out("proc"));
        Assert.Equal("sysfs", Out("sys"));
        Assert.Equal("ok", Out("null"));
        Assert.Equal("", Out("tmp-before"));
        Assert.Equal("", Out("shm-before"));
        Assert.Equal("ok", Out("writable"));
        Assert.Equal("absent", Out("etc"));
        Assert.Equal("0", Out("id"));
        Assert.Equal("denied", Out("kcore"));
        Assert.NotEqual("0", Out("procsys-rc"));
    }

    /// <summary>ProtectKernelTunables' paths and PrivateDevices' nodes are each taken only if present, and the steps
    /// decide it (the planner does not look at the host): every tunable path is planned, those this kernel's /proc
    /// lacks are skipped and the rest are mounted read-only; a node the host lacks is skipped, the others are made.</summary>
    [Fact]
    public void FullApivfs_TunablesAndNodesAbsentOnHost_AreSkippedAndTheRestApplied()
    {
        List<SetupOp> ops = WithOut(HandPlans.FullApivfsOps(Tools("/usr/bin/cat", "/usr/bin/ls")));
        int dev = ops.FindIndex(o => o is TmpfsOp { Dest: "/dev" });
        ops.Insert(dev + 1, new DeviceNodeOp("/dev/absent", 1, 3, "/dev/confine-exec-test-absent-node"));
        var planned = new HashSet<string>(ops.OfType<RemountReadOnlyOp>().Select(r => r.Dest));
        int remounts = ops.FindIndex(o => o is RemountReadOnlyOp);
        foreach (string p in PlanBuilder.KernelTunablePaths.ToArray().Where(p => !planned.Contains(p)))
            ops.Insert(remounts, new RemountReadOnlyOp(p, IfExists: true));
        // Absent on every kernel, so the skip is exercised wherever the tunables above all exist.
        ops.Insert(remounts, new RemountReadOnlyOp("/proc/confine-exec-test-absent", IfExists: true));
        ChildExit exit = Sh(ops, "cat /proc/self/mountinfo > /out/mountinfo; ls -A /dev > /out/dev",
            UserNamespaceTiming.AfterMounts, dropCaps: HandPlans.FullApivfsDroppedCaps);

        Assert.Equal(new ChildExit(0, 0), exit);
        var mounts = Out("mountinfo").Split('\n').Select(l => l.Split(' ')).Where(f => f.Length > 5)
            .GroupBy(f => f[4]).ToDictionary(g => g.Key, g => g.Last()[5].Split(','));
        Assert.False(mounts.ContainsKey("/proc/confine-exec-test-absent"));
        foreach (string p in PlanBuilder.KernelTunablePaths)
        {
            if (Path.Exists(p))
                Assert.Contains("ro", mounts[p]);
            else
                Assert.False(mounts.ContainsKey(p), p);
        }
        string[] nodes = Out("dev").Split('\n');
        Assert.DoesNotContain("absent", nodes);
        Assert.Contains("null", nodes);
        Assert.Contains("tty", nodes);
    }

    [Fact]
    public void FullApivfs_AsRootInUserNamespace_ChownToUnmappedIdAndMountFail()
    {
        HandClosure closure = Tools("/usr/bin/chown", "/usr/bin/mount", "/usr/bin/umount", "/usr/bin/touch");
        string script = string.Join("; ",
            "touch /tmp/x", "chown 65534 /tmp/x 2>/dev/null; echo $? > /out/chown",
            "mount -t tmpfs none /tmp 2>/dev/null; echo $? > /out/mount",
            "umount /proc 2>/dev/null; echo $? > /out/umount");
        ChildExit exit = Sh(WithOut(HandPlans.FullApivfsOps(closure)), script, UserNamespaceTiming.AfterMounts, dropCaps: HandPlans.FullApivfsDroppedCaps);
        Assert.Equal(0, exit.ExitCode);
        Assert.NotEqual("0", Out("chown"));
        Assert.NotEqual("0", Out("mount"));
        Assert.NotEqual("0", Out("umount"));
    }

    [Fact]
    public void FullApivfs_TargetNobody_HasNoCapabilitiesAndNoNewPrivs()
    {
        HandClosure closure = Tools("/usr/bin/id", "/usr/bin/cat");
        string script = "id -u > /out/uid; id -G > /out/groups; cat /proc/self/status > /out/status";
        ChildExit exit = Sh(WithOut(HandPlans.FullApivfsOps(closure)), script, UserNamespaceTiming.AfterMounts, 65534, 65534, HandPlans.FullApivfsDroppedCaps);
        Assert.Equal(new ChildExit(0, 0), exit);
        Assert.Equal("65534", Out("uid"));
        Assert.Equal("65534", Out("groups"));
        var status = Out("status").Split('\n').Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1].Trim());
        foreach (string set in new[] { "CapEff", "CapPrm", "CapInh", "CapAmb" })
            Assert.Equal("0000000000000000", status[set]);
        Assert.Equal("1", status["NoNewPrivs"]);
    }

    [Fact]
    public void Exit_Status42_IsReturned()
    {
        Assert.Equal(new ChildExit(42, 0), Sh(HandPlans.ChrootOnlyOps(Tools()), "exit 42"));
    }

    [Fact]
    public void Exit_KilledBySigkill_ReportsTheSignal()
    {
        Assert.Equal(new ChildExit(0, 9), Sh(HandPlans.ChrootOnlyOps(Tools()), "kill -KILL $$"));
    }

    [Fact]
    public void Signal_Sigusr1ToSupervisor_ReachesProgram()
    {
        string ready = Path.Combine(_out, "ready");
        var sender = new Thread(() =>
        {
            while (!File.Exists(ready))
                Thread.Sleep(20);
            ConfineExec.Launcher.Interop.Libc.Kill(ConfineExec.Launcher.Interop.Libc.getpid(), 10 /* SIGUSR1 */);
        });
        sender.Start();
        ChildExit exit = Sh(WithOut(HandPlans.ChrootOnlyOps(Tools())),
            "trap 'echo got > /out/sig; exit 7' USR1; echo > /out/ready; while :; do :; done");
        sender.Join();
        Assert.Equal(new ChildExit(7, 0), exit);
        Assert.Equal("got", Out("sig"));
    }

    [Fact]
    public void Failure_BindOfMissingSource_NamesStepPathAndErrno()
    {
        List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new BindOp("/nonexistent-confine-exec", "/x", ReadOnly: true)];
        var e = Assert.Throws<LaunchException>(() => Sh(ops, "true"));
        Assert.Equal(125, e.ExitCode);
        Assert.Equal("bind-ro (openat2): /nonexistent-confine-exec: ENOENT (No such file or directory)", e.Message);
    }

    [Fact]
    public void Failure_BindOfMissingSourceAllowed_IsSkipped()
    {
        List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new BindOp("/nonexistent-confine-exec", "/x", ReadOnly: true, AllowMissing: true)];
        Assert.Equal(new ChildExit(0, 0), Sh(ops, "[ ! -e /x ]"));
    }

    [Fact]
    public void Failure_ProgramMissing_Exits127()
    {
        var plan = HandPlans.Plan(HandPlans.ChrootOnlyOps(Tools()), ["/usr/bin/does-not-exist"]);
        var e = Assert.Throws<LaunchException>(() => PlanExecutor.RunForked(plan));
        Assert.Equal(127, e.ExitCode);
        Assert.StartsWith("exec (execve): /usr/bin/does-not-exist: ENOENT", e.Message);
    }

    [Fact]
    public void Failure_ProgramNotExecutable_Exits126()
    {
        var plan = HandPlans.Plan(HandPlans.ChrootOnlyOps(new HandClosure().Add("/usr/lib/x86_64-linux-gnu/libc.so.6").Add("/etc/hostname")), ["/etc/hostname"]);
        var e = Assert.Throws<LaunchException>(() => PlanExecutor.RunForked(plan));
        Assert.Equal(126, e.ExitCode);
    }

    [Fact]
    public void Destination_IsSymlink_IsRefused()
    {
        List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new SymlinkOp("/usr", "/evil"), new BindOp("/usr/bin/dash", "/evil", ReadOnly: true)];
        var e = Assert.Throws<LaunchException>(() => Sh(ops, "true"));
        Assert.Equal(125, e.ExitCode);
        Assert.Contains("/evil: refusing to follow a symlink", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Destination_ThroughSymlinkClimbingOut_StaysInsideRoot(bool withoutOpenat2)
    {
        string marker = "/usr/confine-exec-escape-target";
        Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", withoutOpenat2 ? "1" : null);
        try
        {
            List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new SymlinkOp("../../../../../../usr", "/up"),
                new MakeDirOp("/up/confine-exec-escape-target")];
            // Both resolvers clamp the climbing link at the root: the directory lands on /usr inside it.
            Assert.Equal(0, Sh(WithOut(ops), "[ -d /usr/confine-exec-escape-target ] && echo in-root > /out/r").ExitCode);
            Assert.Equal("in-root", Out("r"));
            Assert.False(Directory.Exists(marker), "a directory was created on the host");
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", null);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bind_SourceThroughSymlinkedParent_IsRefusedNamingTheSource(bool withoutOpenat2)
    {
        // Sources reach the executor canonical (the planner resolves them on the host); a link anywhere in one
        // was swapped in since, and following it would bind whatever it points at (CVE-2024-42472's class).
        string real = _dir.Subdirectory("real");
        File.WriteAllText(Path.Combine(real, "f"), "x");
        string link = Path.Combine(_dir.Path, "swapped");
        File.CreateSymbolicLink(link, real);
        Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", withoutOpenat2 ? "1" : null);
        try
        {
            List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new BindOp(link + "/f", "/x", ReadOnly: true)];
            var e = Assert.Throws<LaunchException>(() => Sh(ops, "true"));
            Assert.Equal(125, e.ExitCode);
            Assert.Contains(link + "/f: ELOOP", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", null);
        }
    }

    [Fact]
    public void MakeDir_ThroughInRootLinksWithoutOpenat2_FollowsThemInsideTheRoot()
    {
        // The ENOSYS fallback emulates RESOLVE_IN_ROOT: relative, absolute and '..'-climbing links resolve in the root.
        Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", "1");
        try
        {
            List<SetupOp> ops = [new RootTmpfsOp(), new MakeDirOp("/usr/lib"), new SymlinkOp("usr/lib", "/lib"),
                new SymlinkOp("/usr", "/abs"), new SymlinkOp("../../../..", "/usr/lib/up"),
                new MakeDirOp("/lib/a"), new MakeDirOp("/abs/lib/b"), new MakeDirOp("/lib/up/usr/lib/c"), .. Tools().Ops];
            ChildExit exit = Sh(WithOut(ops), "[ -d /usr/lib/a ] && [ -d /usr/lib/b ] && [ -d /usr/lib/c ] && echo ok > /out/r");
            Assert.Equal(new ChildExit(0, 0), exit);
            Assert.Equal("ok", Out("r"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2", null);
        }
    }

    [Fact]
    public void MakeDir_ThroughDanglingInRootSymlink_CreatesTheTargetInsideTheRoot()
    {
        // The planner emits "symlink /bin -> usr/bin" before /usr/bin exists; "mkdir /bin" must follow the link
        // inside the root (systemd's chase with mkdir), creating /usr/bin, not fail or touch the host.
        List<SetupOp> ops = [new RootTmpfsOp(), new SymlinkOp("usr/bin", "/bin"), new SymlinkOp("/usr/share", "/share"),
            new MakeDirOp("/bin"), new MakeDirOp("/share/deeper"), .. Tools().Ops];
        ChildExit exit = Sh(WithOut(ops), "[ -d /usr/bin ] && [ -L /bin ] && [ -d /usr/share/deeper ] && echo ok > /out/r");
        Assert.Equal(new ChildExit(0, 0), exit);
        Assert.Equal("ok", Out("r"));
    }

    [Fact]
    public void Plan_DestinationWithDotDot_IsRefusedBeforeForking()
    {
        List<SetupOp> ops = [.. HandPlans.ChrootOnlyOps(Tools()), new BindOp("/usr/bin/dash", "/usr/../../x", ReadOnly: true)];
        var e = Assert.Throws<LaunchException>(() => Sh(ops, "true"));
        Assert.Equal("bind-ro: /usr/../../x: destination contains '..'", e.Message);
    }

    [Fact]
    public void Bind_ReadOnly_KeepsSourceNosuidNodevNoexec()
    {
        // A source mounted nosuid,nodev,noexec on the host: the read-only bind must keep all three (a naive
        // MS_REMOUNT|MS_BIND|MS_RDONLY as real root would clear them).
        string source = _dir.Subdirectory("flagged");
        RunResult mount = ProcessRunner.Run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,mode=755", "confine-exec-test", source]);
        Assert.True(mount.ExitCode == 0, mount.ToString());
        try
        {
            HandClosure closure = Tools("/usr/bin/cat");
            List<SetupOp> ops = [.. HandPlans.FullApivfsOps(closure), new BindOp(source, "/flagged", ReadOnly: true)];
            Assert.Equal(0, Sh(WithOut(ops), "cat /proc/self/mountinfo > /out/mountinfo", UserNamespaceTiming.AfterMounts).ExitCode);
            string line = Out("mountinfo").Split('\n').Last(l => l.Split(' ')[4] == "/flagged");
            string[] options = line.Split(' ')[5].Split(',');
            foreach (string flag in new[] { "ro", "nosuid", "nodev", "noexec" })
                Assert.Contains(flag, options);
        }
        finally
        {
            ProcessRunner.Run(["umount", source]);
        }
    }

    [Fact]
    public void FileDescriptors_InheritedAbove2_AreClosed()
    {
        // An fd this process holds without O_CLOEXEC must not reach PROGRAM.
        int fd = OpenWithoutCloexec("/etc/hostname");
        try
        {
            ChildExit exit = Sh(WithOut(HandPlans.FullApivfsOps(Tools("/usr/bin/ls"))), "ls /proc/self/fd > /out/fds", UserNamespaceTiming.AfterMounts);
            Assert.Equal(0, exit.ExitCode);
            Assert.DoesNotContain(fd.ToString(System.Globalization.CultureInfo.InvariantCulture), Out("fds").Split('\n'));
        }
        finally
        {
            CloseFd(fd);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open")]
    private static extern int OpenNative([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close")]
    private static extern int CloseFd(int fd);

    private static int OpenWithoutCloexec(string path)
    {
        int fd = OpenNative(path, 0);
        Assert.True(fd > 2);
        return fd;
    }
}

[CollectionDefinition(nameof(ExecutorCollection), DisableParallelization = true)]
public sealed class ExecutorCollection;
