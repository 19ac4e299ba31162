using System.Runtime.InteropServices;
using ConfineExec.Launcher.Diagnostics;
using ConfineExec.Launcher.Interop;
using ConfineExec.Launcher.Planning;
using static ConfineExec.Launcher.Interop.Libc;

namespace ConfineExec.Launcher.Execution;

/// <summary>Runs a validated <see cref="LaunchPlan"/>. Owned by the executor (Interop/, Execution/).</summary>
public static unsafe class PlanExecutor
{
    /// <summary>Signals forwarded from the supervisor to PROGRAM (DESIGN §3).</summary>
    private static readonly int[] s_forwarded = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT];

    /// <summary>Runs the plan and returns the exit status confine-exec should exit with (PROGRAM's status,
    /// or 128+N / a re-raised signal). InProcess plans do not return on success (execve).
    /// Throws <see cref="LaunchException"/> for a failure before exec (exit code inside).</summary>
    public static int Run(LaunchPlan plan)
    {
        if (plan.Strategy == ExecutionStrategy.InProcess)
        {
            RunInProcess(plan);
            return ExitCodes.LauncherFailure; // not reached: RunInProcess execs or throws
        }
        ChildExit exit = RunForked(plan);
        if (exit.Signaled)
            ReraiseSignal(exit.Signal);
        return exit.ShellStatus;
    }

    /// <summary>InProcess: unshare(CLONE_NEWNS) affects only the calling thread, which is all execve needs;
    /// the same step interpreter then runs on this thread and execs, so PROGRAM keeps this PID.</summary>
    internal static void RunInProcess(LaunchPlan plan)
    {
        int oldUmask = umask(0);
        umask(oldUmask);
        HostDirectories.Create(plan.HostDirectories);
        int pid = getpid();
        using NativeProgram program = PlanCompiler.Compile(plan, forked: false, pid, oldUmask);
        LaunchPhases.Mark(LaunchPhase.Compiled);
        ChildProgram* p = program.Seal(-1, -1, 0, UseOpenat2(), UseOpenTreeAttr());
        byte* callerMask = stackalloc byte[RuntimeThreads.MaskBytes];
        p->AffinityBytes = RuntimeThreads.GatherOntoThisCpu(callerMask, pid);
        p->Affinity = callerMask;
        LaunchPhases.Report(LaunchPhase.Exec);
        StepInterpreter.Run(p);
        throw PlanCompiler.Describe(program, p->FailedStep, p->FailedWhat, p->FailedErrno);
    }

    /// <summary>ForkedChild: compile, start the child, answer the user-namespace handshake if it needs one,
    /// supervise; returns how the child ended (no re-raise, so tests can call it in-process).</summary>
    internal static ChildExit RunForked(LaunchPlan plan)
    {
        int oldUmask = umask(0);
        umask(oldUmask);
        HostDirectories.Create(plan.HostDirectories);
        try
        {
            using NativeProgram program = PlanCompiler.Compile(plan, forked: true, getpid(), oldUmask);
            LaunchPhases.Mark(LaunchPhase.Compiled);
            // A child that writes its own maps needs nothing from this process until it has exec'd: it can share
            // the address space (no page tables copied, no copy-on-write faults, no copied mm to tear down).
            bool needsParent = program.NeedsParent;
            var (reportRead, reportWrite) = Pipe();
            (int Read, int Write) sync = needsParent ? Pipe() : (-1, -1);
            var supervisor = new SignalForwarder(s_forwarded);
            try
            {
                LaunchPhases.Mark(LaunchPhase.Supervising);
                int pid = Start(program, reportWrite, sync.Read, shareMemory: !needsParent, supervisor.PidSlot);
                LaunchPhases.Mark(LaunchPhase.ChildExeced);
                Close(reportWrite);
                reportWrite = -1;
                if (sync.Read >= 0) { Close(sync.Read); sync.Read = -1; }
                supervisor.Attach(pid);

                LaunchException? failure = AwaitExec(program, plan, pid, reportRead, sync.Write);
                int status = WaitPidReapingOthers(pid);
                LaunchPhases.Report(LaunchPhase.ChildExited);
                supervisor.Detach();
                if (failure is not null)
                    throw failure;
                return WaitStatusExited(status)
                    ? new ChildExit(WaitStatusExitCode(status), 0)
                    : new ChildExit(0, WaitStatusTermSignal(status));
            }
            finally
            {
                supervisor.Dispose();
                Close(reportRead);
                if (reportWrite >= 0) Close(reportWrite);
                if (sync.Read >= 0) Close(sync.Read);
                if (sync.Write >= 0) Close(sync.Write);
            }
        }
        finally
        {
            HostDirectories.RemoveOnExit(plan.HostDirectories);
        }
    }

    private static bool UseOpenat2() => Environment.GetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPENAT2") != "1";

    /// <summary>Tests force the pre-6.15 path (open_tree + mount_setattr) with CONFINE_EXEC_TEST_NO_OPEN_TREE_ATTR=1.</summary>
    private static bool UseOpenTreeAttr() => Environment.GetEnvironmentVariable("CONFINE_EXEC_TEST_NO_OPEN_TREE_ATTR") != "1";

    /// <summary>What may be allocated, by any thread, between the no-GC region's start and the fork.</summary>
    private const int NoGcRegionBytes = 1 << 20;

    /// <summary>What the region must still hold when the memory-sharing child starts: while it runs, this thread
    /// sleeps in clone, where no collection can walk its stack, and other threads go on allocating (in a JIT host the
    /// runtime's signal thread starts a thread to run the forwarder for a signal that arrives then; the published
    /// image forwards in C, SignalForwarder). A region with less left is opened again: a SIGTERM during a large
    /// plan's child setup found a nearly used-up region and a collection on the signal thread aborted the launcher
    /// (SIGABRT).</summary>
    private const int NoGcRegionReserve = 256 << 10;

    /// <summary><see cref="GC.GetTotalAllocatedBytes"/> when the open region started.</summary>
    private static long s_noGcRegionStart;

    /// <summary>
    /// Starts the no-GC region that <see cref="Start"/> needs now, while the heap is nearly empty: starting one
    /// collects first, and a collection then has almost nothing to mark or move (measured: a default launch
    /// 0.24 ms faster than starting it at the fork, interleaved hyperfine). Start re-checks and starts one again
    /// if allocations since have used it up or left less than <see cref="NoGcRegionReserve"/> (a large plan:
    /// thousands of binds).
    /// </summary>
    public static void BeginNoGcRegionEarly() => EnterNoGcRegion();

    /// <summary>Whether a no-GC region with at least <see cref="NoGcRegionReserve"/> left is open now: the one
    /// already open, else a new one.</summary>
    private static bool EnterNoGcRegion()
    {
        try
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                if (GC.GetTotalAllocatedBytes() - s_noGcRegionStart <= NoGcRegionBytes - NoGcRegionReserve) return true;
                GC.EndNoGCRegion();
            }
            if (!GC.TryStartNoGCRegion(NoGcRegionBytes)) return false;
            s_noGcRegionStart = GC.GetTotalAllocatedBytes();
            return true;
        }
        catch (InvalidOperationException) { return false; } // ended by an allocation since the check, or nested
    }

    /// <summary>
    /// Starts the child with every signal blocked on this thread (so no runtime handler runs in the child before
    /// it resets them) inside a no-GC region; the child never returns here. <paramref name="shareMemory"/>: the
    /// child needs nothing from this process before exec, so it runs in this address space on its own stack and
    /// this thread sleeps until it has exec'd or exited (<see cref="SpawnSharingMemory"/>); otherwise a fork.
    /// </summary>
    private static int Start(NativeProgram program, int reportWrite, int syncRead, bool shareMemory, int* earlyPid)
    {
        StepInterpreter.Prepare();
        // Leave glibc's SIGCANCEL (32) and SIGSETXID (33) unblocked: other threads' set*id() need them.
        const ulong all = ~((1UL << 31) | (1UL << 32));
        ulong saved = SetSignalMask(SIG_SETMASK, all);
        ChildProgram* p = program.Seal(reportWrite, syncRead, saved, UseOpenat2(), UseOpenTreeAttr());
        bool noGc = EnterNoGcRegion();
        int pid;
        try
        {
            // Without the no-GC region a collection could start while the child runs on this process's memory.
            if (shareMemory && noGc && Interlocked.Exchange(ref s_childStackBusy, 1) == 0)
            {
                try { pid = SpawnSharingMemory(p, earlyPid); }
                finally { Volatile.Write(ref s_childStackBusy, 0); } // the child has exec'd or exited
            }
            else
            {
                pid = RawFork();
                if (pid == 0)
                    StepInterpreter.RunChild(p); // never returns
            }
        }
        finally
        {
            if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
                GC.EndNoGCRegion();
            SetSignalMask(SIG_SETMASK, saved);
        }
        return pid;
    }

    /// <summary>The memory-sharing child's stack size. The step interpreter's deepest chain (a bind whose parent
    /// is created through the openat2-less walk, which may re-walk once for '..') uses about 37 KiB: 4 KiB in
    /// EnsureDir, 8 KiB in EnsureDirThroughLinks, 12.5 KiB per Walk; with openat2 a launch touches 8 KiB.</summary>
    private const int ChildStackBytes = 64 * 1024;

    /// <summary>Mapped once per process and reused: a fresh mapping per launch would cost the same faults again,
    /// and unmapping it a TLB shootdown across this process's other threads.</summary>
    private static byte* s_childStackTop;
    private static int s_childStackBusy;

    /// <summary>
    /// The memory-sharing child (glibc posix_spawn's scheme): clone(CLONE_VM|CLONE_VFORK) with the child on a
    /// stack of its own, so it never runs on, or returns into, a frame of this thread. Safe because, until the
    /// child has exec'd or exited, this thread is asleep in the kernel and the child is the only code that runs
    /// on its behalf: every signal is blocked on this thread (the child inherits that mask and resets the
    /// handlers before unblocking), no collection can start (no-GC region: this thread stays in cooperative
    /// mode, and the child's GC polls must never see a pending suspension), the child calls only
    /// [SuppressGCTransition] syscalls on native memory prepared before the clone, and touches no managed
    /// object. Its writes to this thread's errno and to the ChildProgram are ones this thread reads (if at all)
    /// only afterwards. It has its own file table, fs context and signal dispositions (no CLONE_FILES,
    /// CLONE_FS, CLONE_SIGHAND), so its closes, chdir/umask/unshare and signal resets stay its own. The kernel
    /// writes its pid to <paramref name="earlyPid"/> before it runs, so forwarded signals reach it during setup
    /// as they reach a forked child. One stack serves every launch; a launch that finds it in use (another
    /// thread's, only in a test host) forks instead.
    /// </summary>
    private static int SpawnSharingMemory(ChildProgram* p, int* earlyPid)
    {
        if (s_childStackTop == null)
            s_childStackTop = MapChildStack(ChildStackBytes);
        delegate*<ChildProgram*, int> entry = &StepInterpreter.SharedMemoryEntry;
        return Libc.SpawnSharingMemory((nint)entry, s_childStackTop, p, earlyPid);
    }

    /// <summary>Reads the child's report pipe until EOF (exec succeeded, or the child died). Answers the
    /// AfterMounts request by writing the maps from outside, as systemd's (sd-userns) helper does:
    /// setgroups "deny", then gid_map, then uid_map.</summary>
    private static LaunchException? AwaitExec(NativeProgram program, LaunchPlan plan, int pid, int reportRead, int syncWrite)
    {
        Span<byte> buffer = stackalloc byte[ChildReport.Size];
        while (true)
        {
            int got = 0;
            while (got < buffer.Length)
            {
                int n = Read(reportRead, buffer[got..]);
                if (n == 0)
                    break;
                got += n;
            }
            if (got == 0)
                return null;
            if (got != ChildReport.Size)
                return new LaunchException("setup: short report from the child");
            ChildReport report = MemoryMarshal.Read<ChildReport>(buffer);
            if (report.What != ChildFailure.UserNamespaceReady)
                return PlanCompiler.Describe(program, report.Step, report.What, report.Errno);

            string proc = "/proc/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                WriteFileOnce(proc + "/setgroups", "deny");
                WriteFileOnce(proc + "/gid_map", PlanCompiler.MapText(plan.GidMap));
                WriteFileOnce(proc + "/uid_map", PlanCompiler.MapText(plan.UidMap));
                Write(syncWrite, [0]);
            }
            catch (SyscallException e)
            {
                Kill(pid, SIGKILL);
                return new LaunchException($"write user namespace map ({e.Syscall}): {e.Path}: {DescribeErrno(e.Errno)}");
            }
        }
    }
}
