using ConfineExec.Launcher.Interop;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// Before an in-process exec: the runtime's own threads (the finalizer thread, and the signal thread if one was
/// started) are moved onto the CPU this thread runs on, and this thread stays there until the exec step puts the
/// caller's mask back (<see cref="ChildProgram.Affinity"/>).
/// </summary>
/// <remarks>
/// execve first kills every other thread of the process and waits for each to exit (de_thread). A sleeping
/// thread is woken where it last ran, so on another CPU that costs an inter-processor interrupt and a remote
/// wake-up, and the exec waits for both: 0.07 ms of a C program's exec with one idle thread here. A chroot-only
/// launch of /usr/bin/true went 3.56 -> 3.44 ms and 3.76 -> 3.46 ms in two interleaved runs of 400
/// (docs/cli-decisions.md, "Start-up"); holding this thread on its CPU also keeps it from migrating mid-setup.
/// Anything that fails leaves the masks as they were: this only ever saves time.
/// </remarks>
internal static unsafe class RuntimeThreads
{
    /// <summary>A cpu_set_t of 1024 CPUs, glibc's size: the kernel's own mask is at most that here.</summary>
    internal const int MaskBytes = 128;

    /// <summary>Moves the runtime's threads and this one onto the current CPU. Returns the caller's mask to
    /// restore before exec (in <paramref name="saved"/>, <see cref="MaskBytes"/> long) and its length, or 0 when
    /// nothing was changed.</summary>
    internal static int GatherOntoThisCpu(byte* saved, int pid)
    {
        if (!NativeStartup.Available) return 0;
        int cpu = Libc.CurrentCpu();
        if (cpu < 0 || cpu >= MaskBytes * 8) return 0;
        int length = Libc.GetAffinity(0, saved, MaskBytes);
        if (length <= 0) return 0;
        byte* here = stackalloc byte[MaskBytes];
        new Span<byte>(here, MaskBytes).Clear();
        here[cpu / 8] = (byte)(1 << (cpu % 8));
        if (!Libc.SetAffinity(0, here, length)) return 0;
        const int max = 16;
        int* tids = stackalloc int[max];
        int count = NativeStartup.RuntimeThreads(tids, max);
        for (int i = 0; i < count; i++)
            if (Libc.IsThreadOf(pid, tids[i]))
                Libc.SetAffinity(tids[i], here, length);
        return length;
    }
}
