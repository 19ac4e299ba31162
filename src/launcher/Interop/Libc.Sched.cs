using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

// clone(2), unshare(2). A child that needs its parent's help (user-namespace maps written from outside) is made
// with a raw clone syscall (fork semantics: no CLONE_VM, SIGCHLD as exit signal), as bubblewrap does: glibc's
// fork() would run atfork handlers, which take locks another runtime thread may hold. A child that needs no
// help shares the address space instead (CLONE_VM|CLONE_VFORK, as glibc's posix_spawn): see SpawnSharingMemory.
internal static unsafe partial class Libc
{
    internal const long SYS_clone = 56, SYS_unshare = 272;
    internal const long CLONE_VM = 0x00000100, CLONE_VFORK = 0x00004000, CLONE_PARENT_SETTID = 0x00100000,
        CLONE_NEWNS = 0x00020000, CLONE_NEWUSER = 0x10000000;

    /// <summary>glibc's clone(3) wrapper (assembly: it moves <paramref name="fn"/> and <paramref name="arg"/> onto
    /// <paramref name="stack"/>, makes the syscall, and in the child calls fn(arg) on that stack, then exit).
    /// Declared with all seven register arguments; the variadic tail is read from registers, not va_arg.</summary>
    [LibraryImport(Name)]
    [SuppressGCTransition]
    private static partial int clone(nint fn, byte* stack, int flags, void* arg, int* parentTid, nint tls, int* childTid);

    internal const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    internal const int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_STACK = 0x20000;

    [LibraryImport(Name, SetLastError = true)]
    private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Name, SetLastError = true)]
    private static partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport(Name, SetLastError = true)]
    private static partial int munmap(void* addr, nuint length);

    /// <summary>A stack for <see cref="SpawnSharingMemory"/>: <paramref name="bytes"/> above one inaccessible
    /// guard page. Returns the high end. Not populated: a launch touches 8 KiB of it, and prefaulting all 64 KiB
    /// (zeroing and charging 17 pages) cost more than the child's two or three faults.</summary>
    internal static byte* MapChildStack(int bytes)
    {
        const int guard = 4096;
        void* p = mmap(null, (nuint)(bytes + guard), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == (void*)-1)
            throw new SyscallException("mmap", null, null, LastErrno);
        if (mprotect(p, guard, PROT_NONE) < 0)
        {
            int errno = LastErrno;
            munmap(p, (nuint)(bytes + guard));
            throw new SyscallException("mprotect", null, null, errno);
        }
        return (byte*)p + guard + bytes;
    }

    /// <summary>fork() as a raw clone(SIGCHLD). Returns 0 in the child, the pid in the parent.</summary>
    internal static int RawFork()
    {
        long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
        if (pid < 0)
            throw new SyscallException("clone", null, null, *__errno_location());
        return (int)pid;
    }

    /// <summary>
    /// clone(CLONE_VM|CLONE_VFORK|CLONE_PARENT_SETTID|SIGCHLD): the child runs <paramref name="entry"/>(arg) on
    /// <paramref name="stackTop"/> (the high end of memory the caller owns and does not touch until this returns)
    /// in this process's address space, while this thread sleeps until the child has exec'd or exited. The
    /// kernel stores the child's pid in <paramref name="pidSlot"/> before the child runs. Returns the pid.
    /// </summary>
    /// <remarks>
    /// Not vfork(): a vfork child returns into its caller's frame on the shared stack, so whether the parent's
    /// frame survives depends on how the JIT/ILC laid that frame out (an IL stub in a Debug JIT build, a spilled
    /// temporary); a separate stack leaves the parent's frames untouched whatever the code generator did.
    /// <paramref name="entry"/> is a managed static method's entry point called with the C ABI (System V x86-64:
    /// the managed convention for one pointer argument and an int result), not an UnmanagedCallersOnly one: that
    /// prologue would run the runtime's reverse-P/Invoke code, against the parent thread's own runtime state.
    /// </remarks>
    internal static int SpawnSharingMemory(nint entry, byte* stackTop, void* arg, int* pidSlot)
    {
        int pid = clone(entry, stackTop, (int)(CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID | SIGCHLD), arg, pidSlot, 0, null);
        if (pid < 0)
            throw new SyscallException("clone", null, null, *__errno_location());
        return pid;
    }

    internal const long SYS_sched_setaffinity = 203, SYS_sched_getaffinity = 204, SYS_tgkill = 234;

    /// <summary>The CPU the calling thread is running on, or -1: glibc reads it from the thread's rseq area (no
    /// syscall), else asks getcpu(2).</summary>
    [LibraryImport(Name, EntryPoint = "sched_getcpu")]
    [SuppressGCTransition]
    internal static partial int CurrentCpu();

    /// <summary>sched_getaffinity(2) of thread <paramref name="tid"/> (0: the caller) into <paramref name="mask"/>:
    /// the number of bytes the kernel wrote, or -1.</summary>
    internal static int GetAffinity(int tid, byte* mask, int bytes) =>
        (int)Math.Max(-1, syscall(SYS_sched_getaffinity, tid, bytes, (long)mask, 0, 0, 0));

    /// <summary>sched_setaffinity(2) of thread <paramref name="tid"/> (0: the caller).</summary>
    internal static bool SetAffinity(int tid, byte* mask, int bytes) =>
        syscall(SYS_sched_setaffinity, tid, bytes, (long)mask, 0, 0, 0) == 0;

    /// <summary>Whether <paramref name="tid"/> is a live thread of process <paramref name="pid"/> (tgkill with
    /// signal 0: a tid that has since been reused by another process fails).</summary>
    internal static bool IsThreadOf(int pid, int tid) => syscall(SYS_tgkill, pid, tid, 0, 0, 0, 0) == 0;

    /// <summary>unshare(2) for the in-process path (CLONE_NEWNS works in a multi-threaded process).</summary>
    internal static void Unshare(long flags)
    {
        if (syscall(SYS_unshare, flags, 0, 0, 0, 0, 0) < 0)
            throw new SyscallException("unshare", null, null, *__errno_location());
    }
}
