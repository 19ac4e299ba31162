using ConfineExec.Launcher.Planning;
using static ConfineExec.Launcher.Tests.PlanningTests.PlanFixtures;

namespace ConfineExec.Launcher.Tests.PlanningTests;

public class PlanBuilderTests
{
    static readonly string[] ClosureOps =
    [
        "mkdir /bin mode=755",
        "bind-ro /usr/bin/dash -> /bin/sh",
        "symlink /lib -> usr/lib",
        "symlink /lib64 -> usr/lib64",
        "mkdir /usr/bin mode=755",
        "bind-ro /usr/bin/dash",
        "bind-ro /usr/bin/git",
        "mkdir /usr/lib/x86_64-linux-gnu mode=755",
        "bind-ro /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "bind-ro /usr/lib/x86_64-linux-gnu/libc.so.6",
        "symlink /usr/lib/x86_64-linux-gnu/libz.so.1 -> libz.so.1.2.13",
        "bind-ro /usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
        "mkdir /usr/lib64 mode=755",
        "symlink /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    ];

    static readonly string[] FullApiVfsRootOps =
    [
        "root-tmpfs mode=755",
        "mkdir /bin mode=755",
        "bind-ro /usr/bin/dash -> /bin/sh",
        "tmpfs /dev mode=755 nosuid noexec size=4m",
        "dev /dev/null c 1:3 mode=666 fallback=bind /dev/null",
        "dev /dev/zero c 1:5 mode=666 fallback=bind /dev/zero",
        "dev /dev/full c 1:7 mode=666 fallback=bind /dev/full",
        "dev /dev/random c 1:8 mode=666 fallback=bind /dev/random",
        "dev /dev/urandom c 1:9 mode=666 fallback=bind /dev/urandom",
        "dev /dev/tty c 5:0 mode=666 fallback=bind /dev/tty",
        "devpts /dev/pts",
        "symlink /dev/ptmx -> pts/ptmx",
        "tmpfs /dev/shm mode=1777 nosuid nodev",
        "mqueue /dev/mqueue",
        "symlink /dev/fd -> /proc/self/fd",
        "symlink /dev/stdin -> /proc/self/fd/0",
        "symlink /dev/stdout -> /proc/self/fd/1",
        "symlink /dev/stderr -> /proc/self/fd/2",
        "symlink /lib -> usr/lib",
        "inaccessible /lib/modules if-exists",
        "symlink /lib64 -> usr/lib64",
        "proc /proc",
        "inaccessible /proc/kallsyms if-exists",
        "inaccessible /proc/kcore if-exists",
        "tmpfs /run mode=755 nosuid nodev size=20%",
        "sysfs /sys rbind-host ro",
        "tmpfs /tmp mode=1777 nosuid nodev",
        "mkdir /usr/bin mode=755",
        "bind-ro /usr/bin/dash",
        "bind-ro /usr/bin/git",
        "inaccessible /usr/lib/modules if-exists",
        "mkdir /usr/lib/x86_64-linux-gnu mode=755",
        "bind-ro /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "bind-ro /usr/lib/x86_64-linux-gnu/libc.so.6",
        "symlink /usr/lib/x86_64-linux-gnu/libz.so.1 -> libz.so.1.2.13",
        "bind-ro /usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
        "mkdir /usr/lib64 mode=755",
        "symlink /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "mkdir /var mode=755",
        "tmpfs /var/tmp mode=1777 nosuid nodev",
        "remount-ro /proc/acpi recursive if-exists",
        "remount-ro /proc/apm recursive if-exists",
        "remount-ro /proc/asound recursive if-exists",
        "remount-ro /proc/bus recursive if-exists",
        "remount-ro /proc/fs recursive if-exists",
        "remount-ro /proc/irq recursive if-exists",
        "remount-ro /proc/latency_stats recursive if-exists",
        "remount-ro /proc/mtrr recursive if-exists",
        "remount-ro /proc/scsi recursive if-exists",
        "remount-ro /proc/sys recursive if-exists",
        "remount-ro /proc/sysrq-trigger recursive if-exists",
        "remount-ro /proc/timer_stats recursive if-exists",
        "remount-ro /dev",
    ];

    [Fact]
    public void Build_ChrootOnlyAsRoot_HasOnlyRootAndClosure()
    {
        LaunchPlan plan = Build(Options(ConfinementMode.ChrootOnly), Root);
        Assert.Equal(["root-tmpfs mode=755", .. ClosureOps], OpStrings(plan));
        Assert.Equal(ExecutionStrategy.InProcess, plan.Strategy);
        Assert.Equal(UserNamespaceTiming.None, plan.UserNamespace);
        Assert.Empty(plan.UidMap);
        Assert.Empty(plan.DropBoundingCaps);
        Assert.Null(plan.Uid);
        Assert.Null(plan.Gid);
        Assert.False(plan.NoNewPrivileges);
        Assert.True(plan.RootReadOnly);
        Assert.Equal("/usr/bin/git", plan.ExecPath);
        Assert.Equal(["git", "status"], plan.Argv);
    }

    [Fact]
    public void Build_FullApiVfsAsRoot_MatchesGoldenOps()
    {
        LaunchPlan plan = Build(Options(), Root);
        Assert.Equal(FullApiVfsRootOps, OpStrings(plan));
        Assert.Equal(ExecutionStrategy.ForkedChild, plan.Strategy);
        Assert.Equal(UserNamespaceTiming.AfterMounts, plan.UserNamespace);
        Assert.Equal([new IdMapping(0, 0, 1)], plan.UidMap);
        Assert.Equal([new IdMapping(0, 0, 1)], plan.GidMap);
        Assert.Equal([PlanBuilder.CapSysModule, PlanBuilder.CapSysRawio, PlanBuilder.CapMknod], plan.DropBoundingCaps);
        Assert.False(plan.NoNewPrivileges); // root target, NoNewPrivileges= not given
        Assert.Empty(plan.SupplementaryGroups);
        Assert.False(plan.KeepSupplementaryGroups);
    }

    public static TheoryData<string, string[], string[]> SwitchOverrides => new()
    {
        { "MountAPIVFS", [
            "proc /proc", "inaccessible /proc/kallsyms if-exists", "inaccessible /proc/kcore if-exists",
            "tmpfs /run mode=755 nosuid nodev size=20%", "sysfs /sys rbind-host ro",
            "remount-ro /proc/acpi recursive if-exists", "remount-ro /proc/apm recursive if-exists", "remount-ro /proc/asound recursive if-exists",
            "remount-ro /proc/bus recursive if-exists", "remount-ro /proc/fs recursive if-exists", "remount-ro /proc/irq recursive if-exists",
            "remount-ro /proc/latency_stats recursive if-exists", "remount-ro /proc/mtrr recursive if-exists", "remount-ro /proc/scsi recursive if-exists",
            "remount-ro /proc/sys recursive if-exists", "remount-ro /proc/sysrq-trigger recursive if-exists", "remount-ro /proc/timer_stats recursive if-exists"], [] },
        { "PrivateDevices", [
            "tmpfs /dev mode=755 nosuid noexec size=4m",
            "dev /dev/null c 1:3 mode=666 fallback=bind /dev/null", "dev /dev/zero c 1:5 mode=666 fallback=bind /dev/zero",
            "dev /dev/full c 1:7 mode=666 fallback=bind /dev/full", "dev /dev/random c 1:8 mode=666 fallback=bind /dev/random",
            "dev /dev/urandom c 1:9 mode=666 fallback=bind /dev/urandom", "dev /dev/tty c 5:0 mode=666 fallback=bind /dev/tty",
            "devpts /dev/pts", "symlink /dev/ptmx -> pts/ptmx", "tmpfs /dev/shm mode=1777 nosuid nodev", "mqueue /dev/mqueue",
            "symlink /dev/fd -> /proc/self/fd", "symlink /dev/stdin -> /proc/self/fd/0",
            "symlink /dev/stdout -> /proc/self/fd/1", "symlink /dev/stderr -> /proc/self/fd/2", "remount-ro /dev"], [] },
        { "PrivateTmp", ["tmpfs /tmp mode=1777 nosuid nodev", "mkdir /var mode=755", "tmpfs /var/tmp mode=1777 nosuid nodev"], [] },
        { "PrivateUsers", [], [] },
        // With ProtectKernelTunables /sys is read-only with all below it: ProtectControlGroups adds no op of its own.
        { "ProtectControlGroups", [], [] },
        { "ProtectKernelModules", ["inaccessible /lib/modules if-exists", "inaccessible /usr/lib/modules if-exists"], [] },
        { "ProtectKernelTunables", [
            "inaccessible /proc/kallsyms if-exists", "inaccessible /proc/kcore if-exists", "sysfs /sys rbind-host ro",
            "remount-ro /proc/acpi recursive if-exists", "remount-ro /proc/apm recursive if-exists", "remount-ro /proc/asound recursive if-exists",
            "remount-ro /proc/bus recursive if-exists", "remount-ro /proc/fs recursive if-exists", "remount-ro /proc/irq recursive if-exists",
            "remount-ro /proc/latency_stats recursive if-exists", "remount-ro /proc/mtrr recursive if-exists", "remount-ro /proc/scsi recursive if-exists",
            "remount-ro /proc/sys recursive if-exists", "remount-ro /proc/sysrq-trigger recursive if-exists", "remount-ro /proc/timer_stats recursive if-exists"],
            ["sysfs /sys rbind-host rw", "remount-ro /sys/fs/cgroup recursive if-exists"] },
    };

    [Theory]
    [MemberData(nameof(SwitchOverrides))]
    public void Build_OneSwitchOff_RemovesExactlyItsOps(string name, string[] removed, string[] added)
    {
        var options = Options();
        LaunchPlan full = Build(options, Root);
        LaunchPlan off = Build(options with { Switches = options.Switches.With(name, false) }, Root);

        Assert.Equal(removed.Order(), OpStrings(full).Except(OpStrings(off)).Order());
        Assert.Equal(added.Order(), OpStrings(off).Except(OpStrings(full)).Order());
        // Order of what remains is unchanged.
        Assert.Equal(OpStrings(full).Where(o => !removed.Contains(o)), OpStrings(off).Where(o => !added.Contains(o)));
    }

    [Theory]
    [InlineData("PrivateDevices", new[] { PlanBuilder.CapSysModule })]
    [InlineData("ProtectKernelModules", new[] { PlanBuilder.CapSysRawio, PlanBuilder.CapMknod })]
    [InlineData("MountAPIVFS", new[] { PlanBuilder.CapSysModule, PlanBuilder.CapSysRawio, PlanBuilder.CapMknod })]
    public void Build_OneSwitchOff_DropsOnlyTheOtherCaps(string name, int[] caps)
    {
        var options = Options();
        LaunchPlan plan = Build(options with { Switches = options.Switches.With(name, false) }, Root);
        Assert.Equal(caps, plan.DropBoundingCaps);
    }

    [Fact]
    public void Build_RootWithPrivateUsersOff_RunsInProcessWithoutUserNamespace()
    {
        var options = Options();
        LaunchPlan plan = Build(options with { Switches = options.Switches.With("PrivateUsers", false) }, Root);
        Assert.Equal(ExecutionStrategy.InProcess, plan.Strategy);
        Assert.Equal(UserNamespaceTiming.None, plan.UserNamespace);
        Assert.Empty(plan.UidMap);
        Assert.Contains(plan.Ops, o => o is ProcOp { AllowHostBindFallback: false });
    }

    [Theory]
    [InlineData(ConfinementMode.FullApiVfs)]
    [InlineData(ConfinementMode.ChrootOnly)]
    public void Build_Unprivileged_UserNamespaceFirstMappingCallerToItself(ConfinementMode mode)
    {
        LaunchPlan plan = Build(Options(mode), Unprivileged);
        Assert.Equal(ExecutionStrategy.ForkedChild, plan.Strategy);
        Assert.Equal(UserNamespaceTiming.BeforeMounts, plan.UserNamespace);
        Assert.Equal([new IdMapping(1000, 1000, 1)], plan.UidMap);
        Assert.Equal([new IdMapping(100, 100, 1)], plan.GidMap);
        Assert.True(plan.KeepSupplementaryGroups);
        Assert.Empty(plan.SupplementaryGroups);
        Assert.True(plan.NoNewPrivileges);
        Assert.Null(plan.Uid);
        if (mode == ConfinementMode.FullApiVfs)
            Assert.Contains(plan.Ops, o => o is ProcOp { AllowHostBindFallback: true });
        else
            Assert.Equal(["root-tmpfs mode=755", .. ClosureOps], OpStrings(plan));
    }

    [Fact]
    public void Build_RootWithUserAndGroup_MapsZeroAndTargetIds()
    {
        var creds = new TargetCredentials(1001, 1002, [1002, 27], "svc", "/home/svc");
        LaunchPlan plan = Build(Options(), Root, creds);
        Assert.Equal([new IdMapping(0, 0, 1), new IdMapping(1001, 1001, 1)], plan.UidMap);
        Assert.Equal([new IdMapping(0, 0, 1), new IdMapping(1002, 1002, 1)], plan.GidMap);
        Assert.Equal(1001u, plan.Uid);
        Assert.Equal(1002u, plan.Gid);
        Assert.Equal([1002u, 27u], plan.SupplementaryGroups);
        Assert.True(plan.NoNewPrivileges);
    }

    [Fact]
    public void Build_ChrootOnlyWithUser_SetsCredentialsWithoutUserNamespace()
    {
        var creds = new TargetCredentials(1001, 1002, [], "svc");
        LaunchPlan plan = Build(Options(ConfinementMode.ChrootOnly), Root, creds);
        Assert.Equal(UserNamespaceTiming.None, plan.UserNamespace);
        Assert.Equal(1001u, plan.Uid);
        Assert.True(plan.NoNewPrivileges);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void Build_RootWithNoNewPrivileges_FollowsTheProperty(bool value, bool expected)
    {
        LaunchPlan plan = Build(Options() with { NoNewPrivileges = value }, Root);
        Assert.Equal(expected, plan.NoNewPrivileges);
    }

    [Fact]
    public void Build_StateAndRuntimeDirectories_CreateHostDirsBindRwAndSetEnvironment()
    {
        var creds = new TargetCredentials(1001, 1002, [], "svc");
        var options = Options() with { StateDirectories = ["testme", "other/sub"], RuntimeDirectories = ["rt"] };
        LaunchPlan plan = Build(options, Root, creds);

        Assert.Equal(
            [new HostDirectory("/var/lib/testme", 0x1ed, 1001, 1002, false), new HostDirectory("/var/lib/other/sub", 0x1ed, 1001, 1002, false),
             new HostDirectory("/run/rt", 0x1ed, 1001, 1002, true)],
            plan.HostDirectories);
        var ops = OpStrings(plan);
        Assert.Contains("bind-rw /var/lib/testme", ops);
        Assert.Contains("bind-rw /var/lib/other/sub", ops);
        // /run is mounted before the runtime directory is bound into it.
        Assert.True(ops.IndexOf("tmpfs /run mode=755 nosuid nodev size=20%") < ops.IndexOf("bind-rw /run/rt"));
        Assert.True(ops.IndexOf("mkdir /var/lib mode=755") < ops.IndexOf("bind-rw /var/lib/testme"));
        Assert.Contains("STATE_DIRECTORY=/var/lib/testme:/var/lib/other/sub", plan.Environment);
        Assert.Contains("RUNTIME_DIRECTORY=/run/rt", plan.Environment);
    }

    public static TheoryData<BindSpec, string> BindCases => new()
    {
        { new BindSpec("/etc", "/etc", ReadOnly: true), "bind-ro /etc" },
        { new BindSpec("/srv/data", "/data", ReadOnly: false), "bind-rw /srv/data -> /data" },
        { new BindSpec("/srv/data", "/data", ReadOnly: true, Recursive: false), "bind-ro /srv/data -> /data norbind" },
        { new BindSpec("/nope", "/nope", ReadOnly: true, IgnoreMissing: true), "bind-ro /nope if-exists" },
    };

    [Theory]
    [MemberData(nameof(BindCases))]
    public void Build_BindProperty_BecomesOneBindOp(BindSpec spec, string expected)
    {
        LaunchPlan plan = Build(Options(ConfinementMode.ChrootOnly) with { Binds = [spec] }, Root);
        Assert.Contains(expected, OpStrings(plan));
        PlanValidator.Validate(plan, Root);
    }

    [Fact]
    public void Build_PrivateTmpOff_HasNoTmpAndNoVar()
    {
        var options = Options();
        LaunchPlan plan = Build(options with { Switches = options.Switches.With("PrivateTmp", false) }, Root);
        Assert.DoesNotContain(plan.Ops, o => PlanValidator.DestinationOf(o) is "/tmp" or "/var/tmp" or "/var");
    }

    [Fact]
    public void Build_ListenPidIsOurs_PassesListenFds()
    {
        var env = new List<KeyValuePair<string, string>> { new("LISTEN_PID", "4242"), new("LISTEN_FDS", "2") };
        LaunchPlan plan = Build(Options(), Root, env: env);
        Assert.Equal(2, plan.PassFds);
        Assert.Contains("LISTEN_PID=4242", plan.Environment);
    }

    [Theory]
    [InlineData("4243", "2")]
    [InlineData("4242", "x")]
    [InlineData("4242", "0")]
    public void Build_ListenPidNotOursOrBad_PassesNoFds(string pid, string fds)
    {
        var env = new List<KeyValuePair<string, string>> { new("LISTEN_PID", pid), new("LISTEN_FDS", fds) };
        Assert.Equal(0, Build(Options(), Root, env: env).PassFds);
    }

    [Fact]
    public void Build_EnvironmentProperty_AddsAndOverridesKeepingTheRest()
    {
        var env = new List<KeyValuePair<string, string>> { new("PATH", "/usr/bin"), new("HOME", "/root") };
        var options = Options() with { Environment = [new("HOME", "/"), new("FOO", "bar baz")] };
        LaunchPlan plan = Build(options, Root, env: env);
        Assert.Equal(["PATH=/usr/bin", "HOME=/", "FOO=bar baz"], plan.Environment);
    }

    [Fact]
    public void Build_ChrootOnlyAndMainUsesOrigin_SetsLdOriginPathToResolvedDirectory()
    {
        var closure = PlanFixtures.GitClosure(usesOrigin: true);
        closure = new ConfineExec.Elf.Closure
        {
            ProgramPath = "/bin/git",
            MainUsesOrigin = true,
            Entries = [.. closure.Entries, new("/bin", ConfineExec.Elf.ClosureEntryKind.Symlink, "usr/bin", "symlink hop", "/bin/git")],
        };
        LaunchPlan plan = Build(Options(ConfinementMode.ChrootOnly), Root, closure: closure);
        Assert.Contains("LD_ORIGIN_PATH=/usr/bin", plan.Environment);

        LaunchPlan full = Build(Options(), Root, closure: closure);
        Assert.DoesNotContain(full.Environment, e => e.StartsWith("LD_ORIGIN_PATH=", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_WorkingDirectoryAndUmaskAndNewSession_AreCarried()
    {
        var options = Options() with { WorkingDirectory = "/var/lib/testme", Umask = 0x3f, NewSession = true };
        LaunchPlan plan = Build(options, Root);
        Assert.Equal("/var/lib/testme", plan.WorkingDirectory);
        Assert.Equal(0x3f, plan.Umask);
        Assert.True(plan.NewSession);
        Assert.Equal("/", Build(Options(), Root).WorkingDirectory);
        Assert.Null(Build(Options(), Root).Umask);
        Assert.False(plan.WorkingDirectoryMissingOk);
        Assert.True(Build(options with { WorkingDirectoryMissingOk = true }, Root).WorkingDirectoryMissingOk);
    }

    [Theory]
    [InlineData("/a", "/a/b", -1)]
    [InlineData("/a/b", "/a-b", -1)]
    [InlineData("/usr/lib/x", "/usr/lib64", -1)]
    [InlineData("/b", "/a/z", 1)]
    [InlineData("/a", "/a", 0)]
    public void PathComparer_ComparesComponentWise(string a, string b, int sign)
    {
        Assert.Equal(sign, Math.Sign(PathComparer.Instance.Compare(a, b)));
    }

    [Fact]
    public void PathComparer_AllPairsOfTrickyPaths_AgreesWithComponentSplitDefinition()
    {
        // The oracle is path_compare()'s definition spelled out: split on '/', drop empty components, compare
        // ordinally component by component, then fewer components first.
        static int Oracle(string x, string y)
        {
            string[] a = x.Split('/', StringSplitOptions.RemoveEmptyEntries), b = y.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
                if (string.CompareOrdinal(a[i], b[i]) is var c and not 0) return Math.Sign(c);
            return a.Length.CompareTo(b.Length);
        }
        string[] paths = ["/", "//", "/a", "/a/", "/a//", "/a/b", "/a//b", "/a/b/", "/ab", "/a-b", "/a.b", "/a b", "/a/b/c",
            "/a/bc", "/a/b-c", "/a!", "/f1", "/f12", "/f123", "/f2", "/usr/lib", "/usr/lib64", "/usr/lib/x", "/usr//lib/x",
            "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64", "/b", "/a/z", "/é", "/e"];
        foreach (string x in paths)
            foreach (string y in paths)
                Assert.True(Oracle(x, y) == Math.Sign(PathComparer.Instance.Compare(x, y)), $"{x} vs {y}");
    }
}

public class PlanBuilderMergedUsrTests
{
    static ConfineExec.Elf.Closure ShClosure(string binShTarget) => new()
    {
        ProgramPath = "/bin/sh",
        Entries =
        [
            new("/bin", ConfineExec.Elf.ClosureEntryKind.Symlink, "usr/bin", "symlink hop", "/bin/sh"),
            new("/bin/sh", ConfineExec.Elf.ClosureEntryKind.File, binShTarget, "/bin/sh", null),
            new("/usr/bin/dash", ConfineExec.Elf.ClosureEntryKind.File, null, "program", null),
            new("/usr/bin/sh", ConfineExec.Elf.ClosureEntryKind.Symlink, "dash", "symlink hop", "/bin/sh"),
        ],
    };

    [Fact]
    public void Build_BinShUnderBinLinkSameAsLink_KeepsOnlyTheLinkAndNoMkdirOverTheLink()
    {
        LaunchPlan plan = PlanFixtures.Build(PlanFixtures.Options(ConfinementMode.ChrootOnly), PlanFixtures.Root, closure: ShClosure("/usr/bin/dash"));
        Assert.Equal(
        [
            "root-tmpfs mode=755",
            "symlink /bin -> usr/bin",
            "mkdir /usr/bin mode=755",
            "bind-ro /usr/bin/dash",
            "symlink /usr/bin/sh -> dash",
        ], PlanFixtures.OpStrings(plan));
        PlanValidator.Validate(plan, PlanFixtures.Root);
    }

    [Fact]
    public void Build_BinShUnderBinLinkOtherProgram_BindWinsAtResolvedPath()
    {
        LaunchPlan plan = PlanFixtures.Build(PlanFixtures.Options(ConfinementMode.ChrootOnly), PlanFixtures.Root, closure: ShClosure("/usr/bin/git"));
        Assert.Contains("bind-ro /usr/bin/git -> /usr/bin/sh", PlanFixtures.OpStrings(plan));
        Assert.DoesNotContain("symlink /usr/bin/sh -> dash", PlanFixtures.OpStrings(plan));
        Assert.DoesNotContain("mkdir /bin mode=755", PlanFixtures.OpStrings(plan));
    }
}
