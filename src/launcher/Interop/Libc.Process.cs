using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

// execve, exit, waitpid, kill, getpid/getppid, setsid, prctl, setresuid/setresgid/setgroups, capget/capset, close_range,
// pipe2, umask, signal dispositions and masks.
internal static unsafe partial class Libc
{
    internal const long SYS_rt_sigaction = 13, SYS_rt_sigprocmask = 14, SYS_execve = 59, SYS_kill = 62, SYS_umask = 95,
        SYS_getppid = 110, SYS_setsid = 112, SYS_setgroups = 116, SYS_setresuid = 117, SYS_setresgid = 119,
        SYS_capget = 125, SYS_capset = 126, SYS_prctl = 157, SYS_exit_group = 231, SYS_close_range = 436;

    internal const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12, SIGPIPE = 13, SIGTERM = 15,
        SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGWINCH = 28;
    internal const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    internal const int PR_SET_PDEATHSIG = 1, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47,
        PR_CAP_AMBIENT_CLEAR_ALL = 4;
    internal const uint LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    internal const int CLOSE_RANGE_CLOEXEC = 4;

    /// <summary>The kernel's struct sigaction for rt_sigaction (x86-64): handler, flags, restorer, 8-byte mask.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct kernel_sigaction
    {
        public nint handler;
        public ulong flags;
        public nint restorer;
        public ulong mask;
    }

    [LibraryImport(Name, SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Name, SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport(Name)]
    internal static partial int getpid();

    [LibraryImport(Name)]
    internal static partial uint getuid();

    [LibraryImport(Name)]
    internal static partial uint getgid();

    [LibraryImport(Name)]
    internal static partial uint geteuid();

    [LibraryImport(Name)]
    internal static partial uint getegid();

    [LibraryImport(Name, SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport(Name)]
    internal static partial int umask(int mask);

    /// <summary>waitpid(pid, 0) retried on EINTR; returns the raw wait status.</summary>
    internal static int WaitPid(int pid)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0)
        {
            int errno = LastErrno;
            if (errno != EINTR)
                throw new SyscallException("waitpid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), null, errno);
        }
        return status;
    }

    /// <summary>waitpid(-1, 0) retried on EINTR until <paramref name="pid"/> is reaped; returns its raw wait status.
    /// Any other child reaped on the way is discarded: as pid 1 of a pid namespace (a container entrypoint) every
    /// orphan of PROGRAM becomes ours and would otherwise stay a zombie.</summary>
    internal static int WaitPidReapingOthers(int pid)
    {
        int status;
        int reaped;
        while ((reaped = waitpid(-1, &status, 0)) != pid)
        {
            if (reaped >= 0)
                continue;
            int errno = LastErrno;
            if (errno != EINTR)
                throw new SyscallException("waitpid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), null, errno);
        }
        return status;
    }

    /// <summary>kill(2) that ignores ESRCH (the child may already be gone).</summary>
    internal static void Kill(int pid, int sig) => _ = kill(pid, sig);

    internal static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
            throw new SyscallException("pipe2", null, null, LastErrno);
        return (fds[0], fds[1]);
    }

    /// <summary>rt_sigprocmask on the calling thread with kernel 8-byte sets; returns the old mask.</summary>
    internal static ulong SetSignalMask(int how, ulong mask)
    {
        ulong old;
        if (syscall(SYS_rt_sigprocmask, how, (long)&mask, (long)&old, 8, 0, 0) < 0)
            throw new SyscallException("rt_sigprocmask", null, null, *__errno_location());
        return old;
    }

    /// <summary>Dies of <paramref name="sig"/> the way the child did: default disposition, unblocked, raised.
    /// Returns only if the signal does not terminate (then the caller exits 128+N).</summary>
    internal static void ReraiseSignal(int sig)
    {
        kernel_sigaction dfl = default;
        _ = syscall(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
        ulong one = 1UL << (sig - 1);
        _ = syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&one, 0, 8, 0, 0);
        _ = kill(getpid(), sig);
    }

    /// <summary>The calling thread's effective capability set (capget(2), version 3: two 32-bit words).</summary>
    internal static ulong EffectiveCapabilities()
    {
        // struct __user_cap_header_struct { u32 version; int pid; } then two
        // struct __user_cap_data_struct { u32 effective, permitted, inheritable; } (low word, high word).
        uint* header = stackalloc uint[2];
        uint* data = stackalloc uint[6];
        header[0] = LINUX_CAPABILITY_VERSION_3;
        header[1] = 0;
        if (syscall(SYS_capget, (long)header, (long)data, 0, 0, 0, 0) < 0)
            throw new SyscallException("capget", null, null, *__errno_location());
        return data[0] | ((ulong)data[3] << 32);
    }

    internal static bool WaitStatusExited(int status) => (status & 0x7f) == 0;
    internal static int WaitStatusExitCode(int status) => (status >> 8) & 0xff;
    internal static int WaitStatusTermSignal(int status) => status & 0x7f;

    /// <summary>The C library's <c>environ</c>, through the runtime's own System.Native export that the BCL's Unix
    /// <c>Environment</c> reads it with (statically linked into every native-AOT image): a data symbol cannot be
    /// imported, and dlsym() finds nothing in a statically linked executable.</summary>
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_GetEnviron")]
    private static partial byte** SystemNative_GetEnviron();

    /// <summary>The process environment as the C library holds it (<c>environ</c>), parsed as the BCL's Unix
    /// <c>Environment</c> parses it: split at the first '=', UTF-8, entries without '=' skipped, the first of
    /// duplicate names kept. Read directly: <c>Environment.GetEnvironmentVariables()</c> first builds the BCL's
    /// own dictionary and then copies it into a Hashtable of boxed entries (0.10 M instructions per start).</summary>
    internal static List<KeyValuePair<string, string>> ReadEnviron()
    {
        var list = new List<KeyValuePair<string, string>>(64);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        byte** entry = SystemNative_GetEnviron();
        for (; entry != null && *entry != null; entry++)
        {
            var text = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(*entry);
            int eq = text.IndexOf((byte)'=');
            if (eq < 0) continue;
            string key = System.Text.Encoding.UTF8.GetString(text[..eq]);
            if (seen.Add(key)) list.Add(new(key, System.Text.Encoding.UTF8.GetString(text[(eq + 1)..])));
        }
        return list;
    }
}
