namespace ConfineExec.Launcher.Interop;

// clone(2), unshare(2). The child is made with a raw clone syscall (fork semantics: no CLONE_VM, SIGCHLD as exit
// signal), as bubblewrap does: glibc's fork() would run atfork handlers, which take locks another runtime thread
// may hold.
internal static unsafe partial class Libc
{
    internal const long SYS_clone = 56, SYS_unshare = 272;
    internal const long CLONE_NEWNS = 0x00020000, CLONE_NEWUSER = 0x10000000;

    /// <summary>fork() as a raw clone(SIGCHLD). Returns 0 in the child, the pid in the parent.</summary>
    internal static int RawFork()
    {
        long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
        if (pid < 0)
            throw new SyscallException("clone", null, null, *__errno_location());
        return (int)pid;
    }

    /// <summary>unshare(2) for the in-process path (CLONE_NEWNS works in a multi-threaded process).</summary>
    internal static void Unshare(long flags)
    {
        if (syscall(SYS_unshare, flags, 0, 0, 0, 0, 0) < 0)
            throw new SyscallException("unshare", null, null, *__errno_location());
    }
}
