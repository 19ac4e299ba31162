using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// LaunchPlans built by hand the way DESIGN §4 describes the two modes, so the executor can be tested before
/// (and independently of) the CLI's planner.
/// </summary>
public static class HandPlans
{
    public static readonly int[] FullApivfsDroppedCaps = [16 /* SYS_MODULE */, 17 /* SYS_RAWIO */, 27 /* MKNOD */];

    /// <summary>chroot-only: root tmpfs, the closure, nothing else.</summary>
    public static List<SetupOp> ChrootOnlyOps(HandClosure closure) => [new RootTmpfsOp(), .. closure.Ops];

    /// <summary>full-apivfs: closure + /proc (ProtectKernelTunables), /sys ro, private /dev, /run, /tmp, /var/tmp.</summary>
    public static List<SetupOp> FullApivfsOps(HandClosure closure)
    {
        List<SetupOp> ops = [new RootTmpfsOp(), .. closure.Ops];
        ops.Add(new ProcOp());
        foreach (string p in new[] { "/proc/sys", "/proc/sysrq-trigger", "/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi" })
            ops.Add(new RemountReadOnlyOp(p, IfExists: true));
        ops.Add(new InaccessibleOp("/proc/kallsyms"));
        ops.Add(new InaccessibleOp("/proc/kcore"));
        ops.Add(new SysfsOp());
        ops.Add(new RemountReadOnlyOp("/sys/fs/cgroup", IfExists: true));
        ops.Add(new TmpfsOp("/dev", 0x1ed, NoSuid: true, NoDev: false, NoExec: true, Size: "4m"));
        foreach (var (name, major, minor) in new[] { ("null", 1u, 3u), ("zero", 1u, 5u), ("full", 1u, 7u), ("random", 1u, 8u), ("urandom", 1u, 9u), ("tty", 5u, 0u) })
            ops.Add(new DeviceNodeOp("/dev/" + name, major, minor, "/dev/" + name));
        ops.Add(new DevptsOp("/dev/pts"));
        ops.Add(new SymlinkOp("pts/ptmx", "/dev/ptmx"));
        ops.Add(new TmpfsOp("/dev/shm", 0x3ff /* 1777 */, NoExec: false));
        ops.Add(new MqueueOp("/dev/mqueue"));
        ops.Add(new SymlinkOp("/proc/self/fd", "/dev/fd"));
        ops.Add(new SymlinkOp("/proc/self/fd/0", "/dev/stdin"));
        ops.Add(new SymlinkOp("/proc/self/fd/1", "/dev/stdout"));
        ops.Add(new SymlinkOp("/proc/self/fd/2", "/dev/stderr"));
        ops.Add(new RemountReadOnlyOp("/dev", Recursive: false));
        ops.Add(new TmpfsOp("/run", 0x1ed));
        ops.Add(new TmpfsOp("/tmp", 0x3ff));
        ops.Add(new TmpfsOp("/var/tmp", 0x3ff));
        return ops;
    }

    public static LaunchPlan Plan(IReadOnlyList<SetupOp> ops, IReadOnlyList<string> argv, UserNamespaceTiming userns = UserNamespaceTiming.None,
        uint? uid = null, uint? gid = null, IReadOnlyList<int>? dropCaps = null, ExecutionStrategy strategy = ExecutionStrategy.ForkedChild)
    {
        IdMapping[] uidMap = userns == UserNamespaceTiming.None ? [] :
            uid is uint u && u != 0 ? [new(0, 0, 1), new(u, u, 1)] : [new(0, 0, 1)];
        IdMapping[] gidMap = userns == UserNamespaceTiming.None ? [] :
            gid is uint g && g != 0 ? [new(0, 0, 1), new(g, g, 1)] : [new(0, 0, 1)];
        return new LaunchPlan
        {
            Strategy = strategy,
            UserNamespace = userns,
            UidMap = uidMap,
            GidMap = gidMap,
            Ops = [.. ops],
            Uid = uid,
            Gid = gid,
            DropBoundingCaps = [.. dropCaps ?? []],
            NoNewPrivileges = uid is not null and not 0,
            Umask = 0x12,
            ExecPath = argv[0],
            Argv = [.. argv],
            Environment = ["PATH=/usr/bin:/bin", "LC_ALL=C"],
        };
    }
}
