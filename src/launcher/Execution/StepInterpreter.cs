using System.Runtime.CompilerServices;
using static ConfineExec.Launcher.Interop.Libc;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// Runs a <see cref="ChildProgram"/>: the one implementation of every setup step, shared by the forked child
/// and the in-process path.
/// </summary>
/// <remarks>
/// Rules for everything in this class (it runs either in a forked copy of a multi-threaded runtime, whose other
/// threads do not exist there, or in the runtime's own address space beside its other threads while the thread
/// that started it sleeps, PlanExecutor.SpawnSharingMemory): no allocation, no managed statics, no locks, no
/// exceptions, no calls other than <see cref="syscall"/> and <see cref="__errno_location"/> and this class's own
/// methods; the only memory written is its own stack, the <see cref="ChildProgram"/> and the sleeping thread's
/// errno. Every method is <c>AggressiveOptimization</c> (no tiering, call counting or OSR stubs) and
/// <see cref="Prepare"/> compiles them before the child starts on a JIT runtime. Constant strings are u8
/// literals (static data, NUL-terminated).
/// </remarks>
internal static unsafe class StepInterpreter
{
    private const MethodImplOptions Opt = MethodImplOptions.AggressiveOptimization;

    /// <summary>On a JIT runtime (the test host), compiles every method here so the child never enters the JIT.</summary>
    internal static void Prepare()
    {
        if (!RuntimeFeature.IsDynamicCodeCompiled)
            return;
        foreach (var method in typeof(StepInterpreter).GetMethods(
                     System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic |
                     System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly))
        {
            if (!method.IsGenericMethodDefinition && method.Name != nameof(Prepare))
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
        }
        BindChildEntryPoints();
    }

    /// <summary>The child's entry (forked, or reached through SharedMemoryEntry): run the steps (the last one execs);
    /// on failure report and _exit(125).</summary>
    [MethodImpl(Opt)]
    internal static void RunChild(ChildProgram* p)
    {
        Run(p);
        ChildReport report;
        report.Step = p->FailedStep;
        report.What = p->FailedWhat;
        report.Errno = p->FailedErrno;
        Sys(SYS_write, p->ReportFd, (long)&report, ChildReport.Size);
        Sys(SYS_exit_group, ExitCodes.LauncherFailure);
    }

    /// <summary>The entry of a child that shares this process's memory (<see cref="Interop.Libc.SpawnSharingMemory"/>),
    /// called by glibc's clone on the child's own stack: the same as <see cref="RunChild"/>, which never returns.</summary>
    [MethodImpl(Opt)]
    internal static int SharedMemoryEntry(ChildProgram* p)
    {
        RunChild(p);
        return ExitCodes.LauncherFailure; // not reached
    }

    /// <summary>Runs every step in order. Returns only on failure (the last step execs), with Failed* set.</summary>
    [MethodImpl(Opt)]
    internal static void Run(ChildProgram* p)
    {
        for (int i = 0; i < p->StepCount; i++)
        {
            ChildStep* s = p->Steps + i;
            if (!KeepsParent(s->Op))
                DropParent(p);
            int what = Execute(p, s);
            if (what != 0)
            {
                p->FailedStep = i;
                p->FailedWhat = what;
                p->FailedErrno = what == ChildFailure.RefusedSymlink ? ELOOP : Errno();
                return;
            }
        }
        p->FailedStep = p->StepCount - 1;
        p->FailedWhat = ChildFailure.SyncFailed;
        p->FailedErrno = EINVAL;
    }

    /// <summary>Steps that only create or mount at Parent/Leaf: they never change what a parent path resolves
    /// to, so the open parent directory stays valid across them. Every other step drops it first.</summary>
    [MethodImpl(Opt)]
    private static bool KeepsParent(ChildOp op) => op is ChildOp.Bind or ChildOp.Symlink or ChildOp.DeviceNode or
        ChildOp.Tmpfs or ChildOp.Proc or ChildOp.Sysfs or ChildOp.Devpts or ChildOp.Mqueue or ChildOp.MakeDir;

    [MethodImpl(Opt)]
    private static void DropParent(ChildProgram* p)
    {
        if (p->ParentFd >= 0 && p->ParentFd != p->RootFd) // the root is held by RootFd, lent as the parent of "/x"
            Close(p->ParentFd);
        p->ParentFd = -1;
        p->ParentPath = null;
    }

    /// <summary>The step's parent directory (created 0755 as needed), reused from the previous step when it had the
    /// same parent: consecutive binds into one directory resolve it once. The caller must not close it.</summary>
    [MethodImpl(Opt)]
    private static int ParentDir(ChildProgram* p, ChildStep* s)
    {
        if (p->ParentFd >= 0 && SameString(p->ParentPath, s->Parent))
            return p->ParentFd;
        // Usually there already (the planner makes a directory right before what goes into it): probe first.
        int fd = EnsureDir(p, s->Parent, 0x1ed, probe: true);
        DropParent(p); // only now: EnsureDir may have started from it
        if (fd >= 0)
        {
            p->ParentFd = fd;
            p->ParentPath = s->Parent;
        }
        return fd;
    }

    [MethodImpl(Opt)]
    private static bool SameString(byte* a, byte* b)
    {
        if (a == b) return true;
        int i = 0;
        while (a[i] == b[i])
        {
            if (a[i] == 0) return true;
            i++;
        }
        return false;
    }

    [MethodImpl(Opt)]
    private static long Sys(long n, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) =>
        syscall(n, a1, a2, a3, a4, a5, a6);

    [MethodImpl(Opt)]
    private static int Errno() => *__errno_location();

    [MethodImpl(Opt)]
    private static void SetErrno(int value) => *__errno_location() = value;

    /// <summary>Runs one step: 0 on success, else the <see cref="ChildFailure"/> code (errno left in errno).</summary>
    [MethodImpl(Opt)]
    private static int Execute(ChildProgram* p, ChildStep* s)
    {
        const int P = ChildFailure.NamePath;
        switch (s->Op)
        {
            case ChildOp.ParentDeathSignal:
                if (Sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL) < 0) return (int)SYS_prctl;
                if (Sys(SYS_getppid) != s->Arg) return ChildFailure.ParentDied;
                return 0;
            case ChildOp.ResetSignals:
                return ResetSignals(p);
            case ChildOp.OpenProcSelf:
                fixed (byte* procSelf = "/proc/self\0"u8)
                    p->ProcSelfFd = (int)Sys(SYS_openat, AT_FDCWD, (long)procSelf, O_PATH | O_DIRECTORY | O_CLOEXEC);
                return p->ProcSelfFd < 0 ? (int)SYS_openat | P : 0;
            case ChildOp.CloseProcSelf:
                Close(p->ProcSelfFd);
                p->ProcSelfFd = -1;
                return 0;
            case ChildOp.Unshare:
                return Sys(SYS_unshare, s->Arg) < 0 ? (int)SYS_unshare : 0;
            case ChildOp.WriteFile:
                return WriteFile(p, s);
            case ChildOp.MakeRootSlave:
                fixed (byte* root = "/\0"u8)
                    return Sys(SYS_mount, 0, (long)root, 0, MS_REC | MS_SLAVE, 0) < 0 ? (int)SYS_mount | P : 0;
            case ChildOp.RootTmpfs:
            {
                p->RootFd = NewFs(p, "tmpfs\0"u8, s->Source, null, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, out int rootFailed);
                return p->RootFd < 0 ? rootFailed : 0;
            }
            case ChildOp.MakeDir:
            {
                // Kept open as the parent of the steps that follow (the planner makes a directory right before
                // what goes into it). Usually absent: no probe of the whole path first.
                if (p->ParentFd >= 0 && SameString(p->ParentPath, s->Path))
                    return 0;
                int fd = EnsureDir(p, s->Path, s->Mode, probe: false);
                DropParent(p);
                if (fd < 0) return (int)SYS_mkdirat | P;
                p->ParentFd = fd;
                p->ParentPath = s->Path;
                return 0;
            }
            case ChildOp.Symlink:
                return MakeSymlink(p, s);
            case ChildOp.Bind:
                return Bind(p, s);
            case ChildOp.Proc:
                return MountProc(p, s);
            case ChildOp.Sysfs:
            {
                fixed (byte* sys = "/sys\0"u8)
                {
                    long ro = (s->Flags & StepFlags.ReadOnly) != 0 ? MOUNT_ATTR_RDONLY : 0;
                    int tree = CloneTree(p, AT_FDCWD, sys, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE,
                        ro | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, out int sysFailed);
                    if (tree < 0) return sysFailed == (int)SYS_open_tree ? sysFailed : sysFailed | P;
                    return Attach(p, s, tree, true);
                }
            }
            case ChildOp.Tmpfs:
            {
                int mnt = NewFs(p, "tmpfs\0"u8, s->Source, (byte*)s->Data, AttrFlags(s->Flags), out int failed);
                return mnt < 0 ? failed | P : Attach(p, s, mnt, true);
            }
            case ChildOp.DeviceNode:
                return DeviceNode(p, s);
            case ChildOp.Devpts:
                return Devpts(p, s);
            case ChildOp.Mqueue:
                return Mqueue(p, s);
            case ChildOp.RemountReadOnly:
                return RemountReadOnly(p, s);
            case ChildOp.Inaccessible:
                return Inaccessible(p, s);
            case ChildOp.Chmod:
                return Chmod(p, s);
            case ChildOp.RootReadOnly:
                CloseMountPointFile(p); // open for writing, it would keep the root writable (EBUSY)
                return SetAttr(p->RootFd, MOUNT_ATTR_RDONLY, false) ? 0 : (int)SYS_mount_setattr | P;
            case ChildOp.PivotRoot:
                return PivotRoot(p);
            case ChildOp.Chdir:
                // WorkingDirectory=-PATH: any failure leaves PROGRAM in "/" (where pivot_root left it), as systemd's
                // apply_working_directory() ignores every error when working_directory_missing_ok is set.
                return Sys(SYS_chdir, (long)s->Path) < 0 && (s->Flags & StepFlags.AllowMissing) == 0 ? (int)SYS_chdir | P : 0;
            case ChildOp.SetGroups:
                return Sys(SYS_setgroups, s->Count, (long)s->Data) < 0 ? (int)SYS_setgroups : 0;
            case ChildOp.SetResGid:
                return Sys(SYS_setresgid, s->Arg, s->Arg, s->Arg) < 0 ? (int)SYS_setresgid : 0;
            case ChildOp.UserNamespaceFromParent:
                return UserNamespaceFromParent(p, s);
            case ChildOp.DropBoundingCap:
                return Sys(SYS_prctl, PR_CAPBSET_DROP, s->Arg) < 0 ? (int)SYS_prctl : 0;
            case ChildOp.SetResUid:
                return Sys(SYS_setresuid, s->Arg, s->Arg, s->Arg) < 0 ? (int)SYS_setresuid : 0;
            case ChildOp.ClearCapabilities:
                return ClearCapabilities();
            case ChildOp.NoNewPrivileges:
                return Sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1) < 0 ? (int)SYS_prctl : 0;
            case ChildOp.Umask:
                Sys(SYS_umask, s->Mode);
                return 0;
            case ChildOp.SetSid:
                return Sys(SYS_setsid) < 0 ? (int)SYS_setsid : 0;
            case ChildOp.CloseFds:
                if (Sys(SYS_close_range, s->Arg, uint.MaxValue, CLOSE_RANGE_CLOEXEC) < 0) return (int)SYS_close_range;
                for (int fd = 3; fd < s->Arg; fd++)
                    if (Sys(SYS_fcntl, fd, F_SETFD, 0) < 0) return (int)SYS_fcntl;
                return 0;
            case ChildOp.DefaultSigpipe:
            {
                kernel_sigaction dfl = default;
                return Sys(SYS_rt_sigaction, SIGPIPE, (long)&dfl, 0, 8) < 0 ? (int)SYS_rt_sigaction : 0;
            }
            case ChildOp.Exec:
                // PROGRAM starts with the caller's mask, whatever held this thread during setup.
                if (p->AffinityBytes > 0 && Sys(SYS_sched_setaffinity, 0, p->AffinityBytes, (long)p->Affinity) < 0)
                    return (int)SYS_sched_setaffinity;
                if (s->Count >= 0)
                    WritePid(((byte**)s->Data2)[s->Count] + 11 /* "LISTEN_PID=" */, Sys(SYS_getpid));
                Sys(SYS_execve, (long)s->Path, (long)s->Data, (long)s->Data2);
                return (int)SYS_execve | P;
            default:
                SetErrno(EINVAL);
                return ChildFailure.SyncFailed;
        }
    }

    /// <summary>Writes <paramref name="pid"/> in decimal over the 20 reserved bytes, NUL-terminated.</summary>
    [MethodImpl(Opt)]
    private static void WritePid(byte* at, long pid)
    {
        byte* digits = stackalloc byte[20];
        int n = 0;
        do { digits[n++] = (byte)('0' + pid % 10); pid /= 10; } while (pid > 0);
        for (int i = 0; i < n; i++) at[i] = digits[n - 1 - i];
        at[n] = 0;
    }

    [MethodImpl(Opt)]
    private static int CloseAnd(int fd, int result)
    {
        int saved = Errno();
        Close(fd);
        SetErrno(saved);
        return result;
    }

    [MethodImpl(Opt)]
    private static void Close(int fd)
    {
        int saved = Errno();
        Sys(SYS_close, fd);
        SetErrno(saved);
    }

    [MethodImpl(Opt)]
    private static long AttrFlags(StepFlags flags) =>
        ((flags & StepFlags.NoSuid) != 0 ? MOUNT_ATTR_NOSUID : 0) |
        ((flags & StepFlags.NoDev) != 0 ? MOUNT_ATTR_NODEV : 0) |
        ((flags & StepFlags.NoExec) != 0 ? MOUNT_ATTR_NOEXEC : 0) |
        ((flags & StepFlags.ReadOnly) != 0 ? MOUNT_ATTR_RDONLY : 0);

    [MethodImpl(Opt)]
    private static bool SetAttr(int fd, long attrSet, bool recursive)
    {
        mount_attr attr = default;
        attr.attr_set = (ulong)attrSet;
        int flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
        fixed (byte* empty = "\0"u8)
            return Sys(SYS_mount_setattr, fd, (long)empty, flags, (long)&attr, sizeof(mount_attr)) == 0;
    }

    /// <summary>fsopen + fsconfig(mode, size) + create + fsmount: a detached mount, or -1 with the failing syscall.</summary>
    [MethodImpl(Opt)]
    private static int NewFs(ChildProgram* p, ReadOnlySpan<byte> type, byte* mode, byte* size, long attrs, out int failed)
    {
        fixed (byte* t = type)
        fixed (byte* modeKey = "mode\0"u8)
        fixed (byte* sizeKey = "size\0"u8)
        {
            int fs = (int)Sys(SYS_fsopen, (long)t, FSOPEN_CLOEXEC);
            if (fs < 0) { failed = (int)SYS_fsopen; return -1; }
            if ((mode != null && Sys(SYS_fsconfig, fs, FSCONFIG_SET_STRING, (long)modeKey, (long)mode, 0) < 0) ||
                (size != null && Sys(SYS_fsconfig, fs, FSCONFIG_SET_STRING, (long)sizeKey, (long)size, 0) < 0) ||
                Sys(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0) < 0)
            {
                failed = (int)SYS_fsconfig;
                return CloseAnd(fs, -1);
            }
            int mnt = (int)Sys(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
            failed = (int)SYS_fsmount;
            Close(fs);
            return mnt;
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> (absolute, inside the root) as O_PATH. openat2 with RESOLVE_IN_ROOT clamps
    /// absolute links and '..' at the root and refuses magic links; on ENOSYS <see cref="Walk"/> emulates it
    /// component by component (links followed as text inside the root, never above it).
    /// <paramref name="flags"/>: O_NOFOLLOW (a final symlink is opened as itself) and/or O_DIRECTORY.
    /// </summary>
    [MethodImpl(Opt)]
    private static int OpenInRoot(ChildProgram* p, byte* path, int flags)
    {
        if (p->UseOpenat2 != 0)
        {
            open_how how = default;
            how.flags = (ulong)(O_PATH | O_CLOEXEC | flags);
            how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
            long fd = Sys(SYS_openat2, p->RootFd, (long)path, (long)&how, sizeof(open_how));
            if (fd >= 0 || Errno() != ENOSYS)
                return (int)fd;
            p->UseOpenat2 = 0;
        }
        return Walk(p->RootFd, path, flags, inRoot: true);
    }

    /// <summary>
    /// Opens a host bind source as O_PATH without following any symlink on the way (openat2 RESOLVE_NO_SYMLINKS;
    /// the plan only holds canonical sources, so a link met here was swapped in after planning). With
    /// <paramref name="flags"/> O_NOFOLLOW a final symlink is opened as itself for the caller to refuse; without,
    /// it is ELOOP like any other. On ENOSYS the same by <see cref="Walk"/> from "/".
    /// </summary>
    [MethodImpl(Opt)]
    private static int OpenHostNoSymlinks(ChildProgram* p, byte* path, int flags)
    {
        if (p->UseOpenat2 != 0)
        {
            open_how how = default;
            how.flags = (ulong)(O_PATH | O_CLOEXEC | flags);
            how.resolve = RESOLVE_NO_SYMLINKS;
            long fd = Sys(SYS_openat2, AT_FDCWD, (long)path, (long)&how, sizeof(open_how));
            if (fd >= 0 || Errno() != ENOSYS)
                return (int)fd;
            p->UseOpenat2 = 0;
        }
        fixed (byte* slash = "/\0"u8)
        {
            int root = (int)Sys(SYS_openat, AT_FDCWD, (long)slash, O_PATH | O_CLOEXEC | O_DIRECTORY);
            if (root < 0) return -1;
            int fd = Walk(root, path, flags, inRoot: false);
            return CloseAnd(root, fd);
        }
    }

    /// <summary>
    /// Component-by-component O_PATH|O_NOFOLLOW walk of <paramref name="path"/> from directory <paramref name="root"/>.
    /// <paramref name="inRoot"/>: RESOLVE_IN_ROOT emulation — a symlink is read and its text resolved from the root
    /// (absolute) or the current directory (relative), '..' stops at the root, at most 40 links (ELOOP). Otherwise
    /// RESOLVE_NO_SYMLINKS: any link but a final one under O_NOFOLLOW is ELOOP, and '..' is refused (EXDEV).
    /// The last component follows a link unless <paramref name="flags"/> has O_NOFOLLOW; O_DIRECTORY requires a directory.
    /// </summary>
    [MethodImpl(Opt)]
    private static int Walk(int root, byte* path, int flags, bool inRoot)
    {
        const int Max = 4096;
        byte* rest = stackalloc byte[Max];   // what is left to resolve
        byte* link = stackalloc byte[Max];   // a link's text, then the rewritten rest
        byte* done = stackalloc byte[Max];   // resolved components so far ("/a/b"), for '..'
        byte* name = stackalloc byte[256];
        int len = Length(path);
        if (len >= Max) { SetErrno(36 /* ENAMETOOLONG */); return -1; }
        for (int i = 0; i <= len; i++) rest[i] = path[i];
        int doneLen = 0;
        int hops = 0;
        fixed (byte* dot = ".\0"u8)
        {
            int cur = (int)Sys(SYS_openat, root, (long)dot, O_PATH | O_CLOEXEC | O_DIRECTORY);
            int pos = 0;
            while (cur >= 0)
            {
                while (rest[pos] == '/') pos++;
                if (rest[pos] == 0)
                {
                    if ((flags & O_DIRECTORY) != 0 && FileType(cur) != S_IFDIR) { SetErrno(ENOTDIR); return CloseAnd(cur, -1); }
                    return cur;
                }
                int n = 0;
                while (rest[pos + n] != 0 && rest[pos + n] != '/') n++;
                if (n > 255) { SetErrno(36 /* ENAMETOOLONG */); return CloseAnd(cur, -1); }
                for (int i = 0; i < n; i++) name[i] = rest[pos + i];
                name[n] = 0;
                pos += n;
                bool last = true;
                for (int r = pos; rest[r] != 0; r++)
                    if (rest[r] != '/') { last = false; break; }
                bool trailingSlash = rest[pos] == '/';
                if (n == 1 && name[0] == '.') continue;
                if (n == 2 && name[0] == '.' && name[1] == '.')
                {
                    if (!inRoot) { SetErrno(EXDEV); return CloseAnd(cur, -1); }
                    while (doneLen > 0 && done[doneLen - 1] != '/') doneLen--;
                    if (doneLen > 0) doneLen--; // drop the '/' too; at the root '..' stays at the root
                    done[doneLen] = 0;
                    Close(cur);
                    cur = Walk(root, doneLen == 0 ? dot : done, O_DIRECTORY | O_NOFOLLOW, inRoot: false);
                    continue;
                }
                int next = (int)Sys(SYS_openat, cur, (long)name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
                if (next < 0) return CloseAnd(cur, -1);
                int type = FileType(next);
                if (type == S_IFLNK && (!last || trailingSlash || (flags & O_NOFOLLOW) == 0))
                {
                    Close(next);
                    if (!inRoot || ++hops > 40) { SetErrno(ELOOP); return CloseAnd(cur, -1); }
                    long m = Sys(SYS_readlinkat, cur, (long)name, (long)link, Max - 1);
                    if (m <= 0) { if (m == 0) SetErrno(ENOENT); return CloseAnd(cur, -1); }
                    int restLen = Length(rest + pos);
                    if (m + 1 + restLen >= Max) { SetErrno(36 /* ENAMETOOLONG */); return CloseAnd(cur, -1); }
                    link[m] = (byte)'/';
                    for (int i = 0; i <= restLen; i++) link[m + 1 + i] = rest[pos + i];
                    for (long i = 0; i <= m + 1 + restLen; i++) rest[i] = link[i];
                    pos = 0;
                    if (rest[0] == '/')
                    {
                        Close(cur);
                        doneLen = 0;
                        done[0] = 0;
                        cur = (int)Sys(SYS_openat, root, (long)dot, O_PATH | O_CLOEXEC | O_DIRECTORY);
                    }
                    continue;
                }
                if (!last && type != S_IFDIR) { Close(next); SetErrno(ENOTDIR); return CloseAnd(cur, -1); }
                if (doneLen + 1 + n >= Max) { Close(next); SetErrno(36 /* ENAMETOOLONG */); return CloseAnd(cur, -1); }
                done[doneLen++] = (byte)'/';
                for (int i = 0; i < n; i++) done[doneLen++] = name[i];
                done[doneLen] = 0;
                Close(cur);
                cur = next;
            }
            return -1;
        }
    }

    /// <summary>
    /// mkdir -p inside the root (each created component with <paramref name="mode"/>); returns an O_PATH fd of the
    /// directory (the root's own RootFd for "/"), or -1. <paramref name="probe"/>: first try the whole path at
    /// once. Then level by level from the nearest directory already open (the previous step's parent when it is
    /// an ancestor, else the root): each component opened O_DIRECTORY|O_NOFOLLOW, or made and opened when absent;
    /// below a directory made here nothing can exist, so the rest is made without looking. A symlink or a
    /// non-directory on the way (ENOTDIR, ELOOP) or a name that exists yet does not open (EEXIST from mkdirat: a
    /// dangling link) hands the whole path to <see cref="EnsureDirThroughLinks"/>, which follows links inside the
    /// root.
    /// </summary>
    [MethodImpl(Opt)]
    private static int EnsureDir(ChildProgram* p, byte* path, int mode, bool probe)
    {
        if (path[0] == '/' && path[1] == 0)
            return p->RootFd;
        if (probe)
        {
            int fd = OpenInRoot(p, path, O_DIRECTORY);
            if (fd >= 0 || Errno() != ENOENT)
                return fd;
        }
        const int Max = 4096;
        int len = Length(path);
        if (len >= Max) { SetErrno(36 /* ENAMETOOLONG */); return -1; }
        byte* buf = stackalloc byte[Max];
        for (int i = 0; i <= len; i++) buf[i] = path[i];
        int cur = p->RootFd, pos = 0;
        if (p->ParentFd >= 0 && p->ParentPath != null)
        {
            int n = Length(p->ParentPath);
            bool ancestor = n > 1 && n < len && buf[n] == '/';
            for (int i = 0; ancestor && i < n; i++)
                if (p->ParentPath[i] != buf[i]) ancestor = false;
            if (ancestor) { cur = p->ParentFd; pos = n; }
        }
        bool owned = false, made = false;
        const int dirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        while (true)
        {
            while (buf[pos] == '/') pos++;
            if (buf[pos] == 0)
                return cur; // owned, or the root; never the borrowed parent (the path goes below it)
            byte* name = buf + pos;
            while (buf[pos] != 0 && buf[pos] != '/') pos++;
            byte saved = buf[pos];
            buf[pos] = 0;
            int next = made ? -1 : (int)Sys(SYS_openat, cur, (long)name, dirFlags);
            if (next < 0)
            {
                int e = made ? ENOENT : Errno();
                if (e != ENOENT)
                {
                    if (e == ENOTDIR || e == ELOOP) break;
                    return owned ? CloseAnd(cur, -1) : -1;
                }
                if (Sys(SYS_mkdirat, cur, (long)name, mode) < 0)
                {
                    if (Errno() == EEXIST) break;
                    return owned ? CloseAnd(cur, -1) : -1;
                }
                made = true;
                next = (int)Sys(SYS_openat, cur, (long)name, dirFlags);
                if (next < 0)
                {
                    if (Errno() == ENOTDIR || Errno() == ELOOP) break; // replaced since: only a racing writer of a bound directory
                    return owned ? CloseAnd(cur, -1) : -1;
                }
            }
            buf[pos] = saved;
            if (owned) Close(cur);
            cur = next;
            owned = true;
        }
        if (owned) Close(cur);
        return EnsureDirThroughLinks(p, path, mode);
    }

    /// <summary>mkdir -p inside the root (each created component with <paramref name="mode"/>) through symlinks:
    /// returns an O_PATH fd of the directory, or -1. A component that is a symlink whose target does not exist yet
    /// (e.g. /bin -> usr/bin before /usr/bin is made) is followed inside the root, as systemd's
    /// chase(CHASE_MKDIR_0755) does: the path is rewritten through the link and the walk restarts.</summary>
    [MethodImpl(Opt)]
    private static int EnsureDirThroughLinks(ChildProgram* p, byte* path, int mode)
    {
        int fd = OpenInRoot(p, path, O_DIRECTORY);
        if (fd >= 0 || Errno() != ENOENT)
            return fd;
        byte* buf = stackalloc byte[4096];
        byte* link = stackalloc byte[4096];
        int len = Length(path);
        if (len >= 4096) { SetErrno(36 /* ENAMETOOLONG */); return -1; }
        for (int i = 0; i <= len; i++) buf[i] = path[i];
        int hops = 0;
        fixed (byte* slash = "/\0"u8)
        {
        restart:
            int parent = OpenInRoot(p, slash, O_DIRECTORY);
            int pos = 0;
            while (parent >= 0)
            {
                while (buf[pos] == '/') pos++;
                if (buf[pos] == 0) return parent;
                int start = pos;
                while (buf[pos] != 0 && buf[pos] != '/') pos++;
                byte saved = buf[pos];
                buf[pos] = 0;
                int next = OpenInRoot(p, buf, O_DIRECTORY);
                if (next < 0 && Errno() == ENOENT)
                {
                    if (Sys(SYS_mkdirat, parent, (long)(buf + start), mode) == 0)
                        next = OpenInRoot(p, buf, O_DIRECTORY);
                    else if (Errno() != EEXIST)
                        return CloseAnd(parent, -1);
                    else
                    {
                        // Exists yet does not resolve: a dangling symlink.
                        if (++hops > 40) { SetErrno(ELOOP); return CloseAnd(parent, -1); }
                        long n = Sys(SYS_readlinkat, parent, (long)(buf + start), (long)link, 4095);
                        if (n <= 0) return CloseAnd(parent, -1);
                        link[n] = 0;
                        buf[pos] = saved;
                        // new path = (absolute link ? "" : prefix up to this component) + link + rest
                        int prefix = link[0] == '/' ? 0 : start;
                        int rest = Length(buf + pos);
                        if (prefix + n + rest >= 4096) { SetErrno(36); return CloseAnd(parent, -1); }
                        long to = prefix + n;
                        if (to > pos)
                            for (int i = rest; i >= 0; i--) buf[to + i] = buf[pos + i];
                        else
                            for (int i = 0; i <= rest; i++) buf[to + i] = buf[pos + i];
                        for (int i = 0; i < n; i++) buf[prefix + i] = link[i];
                        Close(parent);
                        goto restart;
                    }
                }
                buf[pos] = saved;
                Close(parent);
                parent = next;
            }
            return -1;
        }
    }

    [MethodImpl(Opt)]
    private static int Length(byte* s)
    {
        int n = 0;
        while (s[n] != 0) n++;
        return n;
    }

    /// <summary>An existing destination as a mount point (mkdirat/mknodat found something there: a directory of a
    /// bound tree, a device node): opened O_PATH|O_NOFOLLOW in <paramref name="parent"/>; a symlink is refused.</summary>
    [MethodImpl(Opt)]
    private static int OpenExistingMountPoint(int parent, ChildStep* s, bool directory, out int failed)
    {
        failed = (int)SYS_openat | ChildFailure.NamePath;
        if (directory)
        {
            // O_DIRECTORY|O_NOFOLLOW cannot open a symlink (ENOTDIR), so no statx is needed to refuse one; a
            // non-directory there is opened as before and move_mount reports the mismatch.
            int dir = (int)Sys(SYS_openat, parent, (long)s->Leaf, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
            if (dir >= 0 || Errno() != ENOTDIR) return dir;
        }
        int fd = (int)Sys(SYS_openat, parent, (long)s->Leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return -1;
        if (FileType(fd) == S_IFLNK)
        {
            failed = ChildFailure.RefusedSymlink | ChildFailure.NamePath;
            return CloseAnd(fd, -1);
        }
        return fd;
    }

    /// <summary>S_IFMT bits of an fd (0 if statx fails).</summary>
    [MethodImpl(Opt)]
    private static int FileType(int fd)
    {
        statx_head st;
        fixed (byte* empty = "\0"u8)
            if (Sys(SYS_statx, fd, (long)empty, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE, (long)&st) < 0)
                return 0;
        return st.stx_mode & S_IFMT;
    }

    /// <summary>
    /// Moves detached mount <paramref name="tree"/> onto the step's destination, closing the tree: parents made 0755
    /// as needed, the leaf made as an empty directory (0755) or file (0444). A leaf made here, in a directory held
    /// open, is the mount point by name: move_mount(tree, "", parent, leaf) with neither a descriptor nor a statx
    /// of it (move_mount does not follow a final symlink without MOVE_MOUNT_T_SYMLINKS, so a link raced in by a
    /// writer of a bound directory is covered, never followed). A leaf that already exists goes through
    /// <see cref="OpenExistingMountPoint"/>, which refuses a symlink.
    /// </summary>
    [MethodImpl(Opt)]
    private static int Attach(ChildProgram* p, ChildStep* s, int tree, bool directory)
    {
        if (s->Leaf == null)
        {
            SetErrno(EBUSY); // "/" itself is never a mount destination: the root is the tmpfs
            return CloseAnd(tree, (int)SYS_mkdirat | ChildFailure.NamePath);
        }
        int parent = ParentDir(p, s);
        if (parent < 0) return CloseAnd(tree, (int)SYS_mkdirat | ChildFailure.NamePath);
        long made = directory
            ? Sys(SYS_mkdirat, parent, (long)s->Leaf, 0x1ed)
            : MakeMountPointFile(p, parent, s->Leaf);
        if (made == 0)
        {
            fixed (byte* empty = "\0"u8)
            {
                long r = Sys(SYS_move_mount, tree, (long)empty, parent, (long)s->Leaf, MOVE_MOUNT_F_EMPTY_PATH);
                return CloseAnd(tree, r < 0 ? (int)SYS_move_mount | ChildFailure.NamePath : 0);
            }
        }
        if (Errno() != EEXIST)
            return CloseAnd(tree, (directory ? (int)SYS_mkdirat : (int)SYS_mknodat) | ChildFailure.NamePath);
        int dest = OpenExistingMountPoint(parent, s, directory, out int failed);
        if (dest < 0) return CloseAnd(tree, failed);
        return MoveOnto(tree, dest);
    }

    /// <summary>
    /// An empty 0444 file <paramref name="leaf"/> in <paramref name="parent"/> (0 or -1 with errno, as mknodat):
    /// a hard link of one unnamed file (O_TMPFILE in the root, linked by descriptor) where the kernel allows that,
    /// else its own mknodat. Every file mount point is covered by its bind at once, so they may share an inode,
    /// and a link skips the inode's allocation now and its eviction when the root is torn down (3000 file binds:
    /// about 9 ms, measured with a C loop on this kernel). A link refused for any reason but EEXIST is retried as
    /// mknodat, which then decides and reports (EXDEV: a parent on another mount, such as /dev's tmpfs, so only
    /// that one); EPERM, ENOENT, EINVAL or EOPNOTSUPP (no O_TMPFILE, or a
    /// kernel that wants CAP_DAC_READ_SEARCH for linkat(AT_EMPTY_PATH); 6.18 allows it to an unprivileged
    /// caller in a user namespace) turn linking off for the rest.
    /// </summary>
    [MethodImpl(Opt)]
    private static long MakeMountPointFile(ChildProgram* p, int parent, byte* leaf)
    {
        if (p->MountPointFileFd == -1)
        {
            fixed (byte* dot = ".\0"u8)
            {
                int fd = (int)Sys(SYS_openat, p->RootFd, (long)dot, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0x124);
                p->MountPointFileFd = fd >= 0 ? fd : -2;
            }
        }
        if (p->MountPointFileFd >= 0)
        {
            fixed (byte* empty = "\0"u8)
            {
                if (Sys(SYS_linkat, p->MountPointFileFd, (long)empty, parent, (long)leaf, AT_EMPTY_PATH) == 0)
                    return 0;
            }
            int e = Errno();
            if (e == EEXIST)
                return -1;
            if (e is EPERM or ENOENT or EINVAL or 95 /* EOPNOTSUPP */) // EXDEV: only this parent is another mount (/dev)
            {
                Close(p->MountPointFileFd);
                p->MountPointFileFd = -2;
            }
        }
        return Sys(SYS_mknodat, parent, (long)leaf, S_IFREG | 0x124, 0); // an empty 0444 file, never opened
    }

    [MethodImpl(Opt)]
    private static void CloseMountPointFile(ChildProgram* p)
    {
        if (p->MountPointFileFd >= 0)
            Close(p->MountPointFileFd);
        p->MountPointFileFd = -2; // the mounts are done: nothing links again
    }

    /// <summary>move_mount(tree → dest) by descriptors; closes both.</summary>
    [MethodImpl(Opt)]
    private static int MoveOnto(int tree, int dest)
    {
        fixed (byte* empty = "\0"u8)
        {
            long r = Sys(SYS_move_mount, tree, (long)empty, dest, (long)empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
            int saved = Errno();
            Close(tree);
            Close(dest);
            SetErrno(saved);
            return r < 0 ? (int)SYS_move_mount | ChildFailure.NamePath : 0;
        }
    }

    /// <summary>
    /// A bind through its source's parent directory: the directory opened once (<see cref="SourceDir"/>, no symlink
    /// on the way) for every consecutive bind out of it, the last name cloned from there without following a
    /// link, and the clone's type checked against what the planner saw. Per bind that is one open_tree and one
    /// statx of the clone instead of a walk of the whole path from "/", an open and a close (3000 file binds
    /// out of one directory: 6000 fewer syscalls). Whatever does not fit (no known type, a failure, a symlink
    /// or another type at the name) goes to <see cref="BindByPath"/>, which decides and reports it as it always
    /// has; nothing was made in the root by then.
    /// </summary>
    [MethodImpl(Opt)]
    private static int Bind(ChildProgram* p, ChildStep* s)
    {
        StepFlags known = s->Flags & (StepFlags.SourceFile | StepFlags.SourceDirectory);
        if (known == 0 || s->Data == null)
            return BindByPath(p, s);
        int dir = SourceDir(p, (byte*)s->Data);
        if (dir < 0)
            return BindByPath(p, s);
        int tree = CloneTree(p, dir, (byte*)s->Data2,
            AT_SYMLINK_NOFOLLOW | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((s->Flags & StepFlags.Recursive) != 0 ? AT_RECURSIVE : 0),
            (s->Flags & StepFlags.ReadOnly) != 0 ? MOUNT_ATTR_RDONLY : 0, out _);
        if (tree < 0)
            return BindByPath(p, s);
        // What was cloned must be what the planner saw: a symlink (swapped in since: it would be mounted as a link
        // and followed inside the root) or a directory for a non-directory or the other way round is not bound.
        int type = FileType(tree);
        bool directory = known == StepFlags.SourceDirectory;
        if (type == 0 || type == S_IFLNK || (type == S_IFDIR) != directory)
        {
            Close(tree);
            return BindByPath(p, s);
        }
        return Attach(p, s, tree, directory);
    }

    /// <summary>The bind source directory <paramref name="path"/>, opened O_DIRECTORY with no symlink on the way
    /// and kept for the next bind from the same directory (the compiler gives those one shared string), or -1.
    /// The caller must not close it.</summary>
    [MethodImpl(Opt)]
    private static int SourceDir(ChildProgram* p, byte* path)
    {
        if (p->SourceDirFd >= 0 && SameString(p->SourceDirPath, path))
            return p->SourceDirFd;
        CloseSourceDir(p);
        int fd = OpenHostNoSymlinks(p, path, O_DIRECTORY);
        if (fd >= 0)
        {
            p->SourceDirFd = fd;
            p->SourceDirPath = path;
        }
        return fd;
    }

    [MethodImpl(Opt)]
    private static void CloseSourceDir(ChildProgram* p)
    {
        if (p->SourceDirFd >= 0)
            Close(p->SourceDirFd);
        p->SourceDirFd = -1;
        p->SourceDirPath = null;
    }

    /// <summary>A bind by the source's whole path: every bind <see cref="Bind"/> does not take, and the one that
    /// decides (skip, refuse, or report which call failed) whatever it gave up on.</summary>
    [MethodImpl(Opt)]
    private static int BindByPath(ChildProgram* p, ChildStep* s)
    {
        bool recursive = (s->Flags & StepFlags.Recursive) != 0;
        // The source is opened exactly once, following no symlink anywhere in it (the planner resolved it on the
        // host, so a link here was swapped in since: CVE-2024-42472's class), and bound by that descriptor: what
        // is bound is what was opened.
        int src, type;
        StepFlags known = s->Flags & (StepFlags.SourceFile | StepFlags.SourceDirectory);
        if (known != 0 && (s->Flags & StepFlags.AllowMissing) == 0)
        {
            // The planner saw the source's type: no statx here. Opened without O_NOFOLLOW, a symlink swapped in
            // at the end is ELOOP like one further up; any other type swapped in since fails at move_mount, which
            // mounts a directory only on a directory and anything else only on a non-directory.
            src = OpenHostNoSymlinks(p, s->Source, 0);
            if (src < 0)
                return Errno() == ELOOP ? RefusedSourceLink(p, s) : (int)SYS_openat2 | ChildFailure.NameSource;
            type = known == StepFlags.SourceDirectory ? S_IFDIR : S_IFREG;
        }
        else
        {
            src = OpenHostNoSymlinks(p, s->Source, O_NOFOLLOW);
            if (src < 0)
                return (s->Flags & StepFlags.AllowMissing) != 0 && Errno() == ENOENT ? 0 : (int)SYS_openat2 | ChildFailure.NameSource;
            type = FileType(src);
            if (type == S_IFLNK) // dangling at plan time (so kept unresolved) or swapped in since: '-' skips it as missing
                return CloseAnd(src, (s->Flags & StepFlags.AllowMissing) != 0 ? 0 : ChildFailure.RefusedSymlink | ChildFailure.NameSource);
        }
        int tree;
        int failed;
        fixed (byte* empty = "\0"u8)
            tree = CloneTree(p, src, empty, AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0),
                (s->Flags & StepFlags.ReadOnly) != 0 ? MOUNT_ATTR_RDONLY : 0, out failed);
        if (tree < 0)
            return CloseAnd(src, failed | ChildFailure.NameSource);
        Close(src);
        return Attach(p, s, tree, type == S_IFDIR);
    }

    /// <summary>Error path of a known-type source that opened ELOOP: the source itself a symlink ("refused: is a
    /// symlink", as when its type is looked up) or a symlink further up (openat2's ELOOP).</summary>
    [MethodImpl(Opt)]
    private static int RefusedSourceLink(ChildProgram* p, ChildStep* s)
    {
        int link = OpenHostNoSymlinks(p, s->Source, O_NOFOLLOW);
        bool itself = link >= 0 && FileType(link) == S_IFLNK;
        if (link >= 0) Close(link);
        SetErrno(ELOOP);
        return itself ? ChildFailure.RefusedSymlink | ChildFailure.NameSource : (int)SYS_openat2 | ChildFailure.NameSource;
    }

    /// <summary>open_tree(<paramref name="flags"/>, which include OPEN_TREE_CLONE) with <paramref name="attrs"/> set on
    /// the clone (recursively with AT_RECURSIVE): one open_tree_attr (Linux 6.15) where the kernel has it, else
    /// open_tree + mount_setattr. Returns the tree or -1 with the failing syscall in <paramref name="failed"/>.</summary>
    [MethodImpl(Opt)]
    private static int CloneTree(ChildProgram* p, int dirFd, byte* path, int flags, long attrs, out int failed)
    {
        failed = (int)SYS_open_tree;
        if (attrs != 0 && p->UseOpenTreeAttr != 0)
        {
            mount_attr attr = default;
            attr.attr_set = (ulong)attrs;
            long fd = Sys(SYS_open_tree_attr, dirFd, (long)path, flags, (long)&attr, sizeof(mount_attr));
            if (fd >= 0 || (Errno() != ENOSYS && Errno() != EINVAL))
                return (int)fd;
            p->UseOpenTreeAttr = 0;
        }
        int tree = (int)Sys(SYS_open_tree, dirFd, (long)path, flags);
        if (tree < 0 || attrs == 0)
            return tree;
        failed = (int)SYS_mount_setattr;
        return SetAttr(tree, attrs, (flags & AT_RECURSIVE) != 0) ? tree : CloseAnd(tree, -1);
    }

    /// <summary>Clone of a host path (recursive) with extra attributes, or -1.</summary>
    [MethodImpl(Opt)]
    private static int CloneHost(ChildProgram* p, ReadOnlySpan<byte> hostPath, long attrs, bool recursive)
    {
        fixed (byte* path = hostPath)
            return CloneTree(p, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0), attrs, out _);
    }

    [MethodImpl(Opt)]
    private static int MountProc(ChildProgram* p, ChildStep* s)
    {
        const long attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        int mnt = NewFs(p, "proc\0"u8, null, null, attrs, out int failed);
        if (mnt < 0)
        {
            int e = Errno();
            // Unprivileged without a pid namespace the kernel refuses a fresh procfs: systemd's and bubblewrap's
            // fallback is a recursive bind of the host's.
            if ((s->Flags & StepFlags.Fallback) == 0 || (e != EPERM && e != EACCES && e != EBUSY && e != EINVAL))
                return failed | ChildFailure.NamePath;
            mnt = CloneHost(p, "/proc\0"u8, attrs, true);
            if (mnt < 0) return (int)SYS_open_tree | ChildFailure.NamePath;
        }
        return Attach(p, s, mnt, true);
    }

    [MethodImpl(Opt)]
    private static int DeviceNode(ChildProgram* p, ChildStep* s)
    {
        // Cloned only if the host has it, as systemd's clone_device_node() skips a node its stat() misses. Asked
        // here, before the root switch, not by the planner: one statx without the managed lookup around it.
        statx_head st;
        if (Sys(SYS_statx, AT_FDCWD, (long)s->Source, AT_SYMLINK_NOFOLLOW, STATX_TYPE, (long)&st) < 0 && Errno() == ENOENT)
            return 0;
        int parent = ParentDir(p, s);
        if (parent < 0) return (int)SYS_mkdirat | ChildFailure.NamePath;
        long r = Sys(SYS_mknodat, parent, (long)s->Leaf, S_IFCHR | s->Mode, s->Arg);
        if (r == 0) return 0;
        if (Errno() != EPERM) return (int)SYS_mknodat | ChildFailure.NamePath;
        // In a user namespace mknod is refused: bind the host's node onto an empty 0444 file instead.
        int tree = (int)Sys(SYS_open_tree, AT_FDCWD, (long)s->Source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
            return Errno() == ENOENT ? 0 : (int)SYS_open_tree | ChildFailure.NameSource; // missing on the host: skipped, as systemd does
        return Attach(p, s, tree, false);
    }

    [MethodImpl(Opt)]
    private static int Devpts(ChildProgram* p, ChildStep* s)
    {
        fixed (byte* type = "devpts\0"u8)
        fixed (byte* newinstance = "newinstance\0"u8)
        fixed (byte* ptmxmode = "ptmxmode\0"u8)
        fixed (byte* v666 = "0666\0"u8)
        fixed (byte* modeKey = "mode\0"u8)
        fixed (byte* v620 = "620\0"u8)
        {
            int mnt = -1;
            int fs = (int)Sys(SYS_fsopen, (long)type, FSOPEN_CLOEXEC);
            if (fs >= 0)
            {
                if (Sys(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, (long)newinstance, 0, 0) == 0 &&
                    Sys(SYS_fsconfig, fs, FSCONFIG_SET_STRING, (long)ptmxmode, (long)v666, 0) == 0 &&
                    Sys(SYS_fsconfig, fs, FSCONFIG_SET_STRING, (long)modeKey, (long)v620, 0) == 0 &&
                    Sys(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0) == 0)
                    mnt = (int)Sys(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
                Close(fs);
            }
            if (mnt < 0)
                mnt = CloneHost(p, "/dev/pts\0"u8, 0, true);
            if (mnt < 0) return (int)SYS_open_tree | ChildFailure.NamePath;
            return Attach(p, s, mnt, true);
        }
    }

    [MethodImpl(Opt)]
    private static int Mqueue(ChildProgram* p, ChildStep* s)
    {
        int mnt = NewFs(p, "mqueue\0"u8, null, null, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, out _);
        if (mnt < 0)
            mnt = CloneHost(p, "/dev/mqueue\0"u8, 0, true);
        return mnt < 0 ? 0 : Attach(p, s, mnt, true); // neither works: skipped (documented)
    }

    [MethodImpl(Opt)]
    private static int RemountReadOnly(ChildProgram* p, ChildStep* s)
    {
        bool recursive = (s->Flags & StepFlags.Recursive) != 0;
        // Most targets are directories (/proc/sys, /dev): O_DIRECTORY|O_NOFOLLOW opens one and cannot open a
        // symlink (ENOTDIR), so only a non-directory needs the second open and the statx that refuses a link.
        int fd = OpenInRoot(p, s->Path, O_NOFOLLOW | O_DIRECTORY);
        if (fd < 0 && Errno() == ENOTDIR)
        {
            fd = OpenInRoot(p, s->Path, O_NOFOLLOW);
            if (fd >= 0 && FileType(fd) == S_IFLNK)
                return CloseAnd(fd, ChildFailure.RefusedSymlink | ChildFailure.NamePath);
        }
        if (fd < 0)
            return (s->Flags & StepFlags.AllowMissing) != 0 && Errno() == ENOENT ? 0 : (int)SYS_openat2 | ChildFailure.NamePath;
        // mount_setattr works only on the root of a detached tree (the kernel refuses a mount with a parent in
        // an anonymous namespace), and the whole root is still detached here. So clone the subtree, always
        // recursively so no submount is hidden, set the flag on the clone (recursively or on its top only),
        // and stack it onto the same place.
        fixed (byte* empty = "\0"u8)
        {
            const int clone = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE;
            int tree;
            int failed;
            if (recursive)
                tree = CloneTree(p, fd, empty, clone, MOUNT_ATTR_RDONLY, out failed);
            else
            {
                // The flag on the clone's top only: open_tree_attr would set it on every submount.
                failed = (int)SYS_open_tree;
                tree = (int)Sys(SYS_open_tree, fd, (long)empty, clone);
                if (tree >= 0 && !SetAttr(tree, MOUNT_ATTR_RDONLY, false))
                {
                    failed = (int)SYS_mount_setattr;
                    tree = CloseAnd(tree, -1);
                }
            }
            if (tree < 0) return CloseAnd(fd, failed | ChildFailure.NamePath);
            return MoveOnto(tree, fd);
        }
    }

    [MethodImpl(Opt)]
    private static int Inaccessible(ChildProgram* p, ChildStep* s)
    {
        const long attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        int fd = OpenInRoot(p, s->Path, O_NOFOLLOW);
        if (fd < 0)
            return (s->Flags & StepFlags.AllowMissing) != 0 && Errno() == ENOENT ? 0 : (int)SYS_openat2 | ChildFailure.NamePath;
        int type = FileType(fd);
        if (type == S_IFLNK)
            return CloseAnd(fd, ChildFailure.RefusedSymlink | ChildFailure.NamePath);
        if (type == S_IFDIR)
        {
            int dir, failedFs;
            fixed (byte* zero = "0000\0"u8)
                dir = NewFs(p, "tmpfs\0"u8, zero, null, attrs, out failedFs);
            if (dir < 0) return CloseAnd(fd, failedFs | ChildFailure.NamePath);
            return MoveOnto(dir, fd);
        }
        // The empty 0000 file is made in the root tmpfs, bound over the target, and unlinked (the bind keeps the
        // inode; the kernel refuses to attach a mount whose root is already unlinked). A private scratch tmpfs
        // instead was a detached mount whose dissolution on close waits for an expedited RCU grace period
        // (synchronize_rcu_expedited in namespace_unlock): 0.1-0.4 ms per launch here.
        fixed (byte* name = ".confine-exec-inaccessible\0"u8)
        {
            if (Sys(SYS_mknodat, p->RootFd, (long)name, S_IFREG, 0) < 0)
                return CloseAnd(fd, (int)SYS_mknodat | ChildFailure.NamePath);
            int mnt = CloneTree(p, p->RootFd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, attrs, out int failed);
            int r = mnt < 0 ? CloseAnd(fd, failed | ChildFailure.NamePath) : MoveOnto(mnt, fd);
            int saved = Errno();
            long unlinked = Sys(SYS_unlinkat, p->RootFd, (long)name, 0);
            if (r != 0) { SetErrno(saved); return r; } // report the bind's failure, not the clean-up's
            return unlinked < 0 ? (int)SYS_unlinkat | ChildFailure.NamePath : 0;
        }
    }

    [MethodImpl(Opt)]
    private static int Chmod(ChildProgram* p, ChildStep* s)
    {
        fixed (byte* dot = ".\0"u8)
        {
            if (s->Leaf == null)
                return Sys(SYS_fchmodat, p->RootFd, (long)dot, s->Mode, 0) < 0 ? (int)SYS_fchmodat | ChildFailure.NamePath : 0;
            int parent = OpenInRoot(p, s->Parent, O_DIRECTORY);
            if (parent < 0) return (int)SYS_openat2 | ChildFailure.NamePath;
            int fd = (int)Sys(SYS_openat, parent, (long)s->Leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return CloseAnd(parent, (int)SYS_openat | ChildFailure.NamePath);
            int type = FileType(fd);
            Close(fd);
            if (type == S_IFLNK) return CloseAnd(parent, ChildFailure.RefusedSymlink | ChildFailure.NamePath);
            long r = Sys(SYS_fchmodat, parent, (long)s->Leaf, s->Mode, 0);
            return CloseAnd(parent, r < 0 ? (int)SYS_fchmodat | ChildFailure.NamePath : 0);
        }
    }

    [MethodImpl(Opt)]
    private static int MakeSymlink(ChildProgram* p, ChildStep* s)
    {
        int parent = ParentDir(p, s);
        if (parent < 0) return (int)SYS_mkdirat | ChildFailure.NamePath;
        if (Sys(SYS_symlinkat, (long)s->Source, parent, (long)s->Leaf) == 0)
            return 0;
        if (Errno() != EEXIST)
            return (int)SYS_symlinkat | ChildFailure.NamePath;
        // Already there: fine only if it is the same link (idempotent, as bubblewrap's --symlink).
        byte* buf = stackalloc byte[4096];
        long n = Sys(SYS_readlinkat, parent, (long)s->Leaf, (long)buf, 4096);
        bool same = n >= 0;
        for (long i = 0; same && i < n; i++)
            if (s->Source[i] != buf[i]) same = false;
        if (same && s->Source[n] == 0) return 0;
        SetErrno(EEXIST);
        return (int)SYS_symlinkat | ChildFailure.NamePath;
    }

    [MethodImpl(Opt)]
    private static int PivotRoot(ChildProgram* p)
    {
        fixed (byte* slash = "/\0"u8)
        fixed (byte* dot = ".\0"u8)
        fixed (byte* empty = "\0"u8)
        {
            CloseSourceDir(p); // a host directory: no descriptor of one is held into the new root
            CloseMountPointFile(p);
            // Attach the detached root over "/" (inside this private namespace only), enter it, and pivot with
            // new and old root stacked on the same directory; the old root is then made private and detached.
            if (Sys(SYS_move_mount, p->RootFd, (long)empty, AT_FDCWD, (long)slash, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return (int)SYS_move_mount;
            if (Sys(SYS_fchdir, p->RootFd) < 0) return (int)SYS_fchdir;
            if (Sys(SYS_pivot_root, (long)dot, (long)dot) < 0) return (int)SYS_pivot_root;
            if (Sys(SYS_mount, 0, (long)dot, 0, MS_REC | MS_PRIVATE, 0) < 0) return (int)SYS_mount;
            if (Sys(SYS_umount2, (long)dot, MNT_DETACH) < 0) return (int)SYS_umount2;
            if (Sys(SYS_chdir, (long)slash) < 0) return (int)SYS_chdir;
            Close(p->RootFd);
            p->RootFd = -1;
            return 0;
        }
    }

    [MethodImpl(Opt)]
    private static int ResetSignals(ChildProgram* p)
    {
        // One call per signal sets SIG_DFL and returns the old action; only an ignored one gets a second call
        // to stay ignored, as exec would keep it (before: query, then set = 124 calls; now 62 + ignored ones).
        // Every signal is blocked here, so the moment an ignored signal spends at SIG_DFL delivers nothing.
        kernel_sigaction dfl = default;
        kernel_sigaction old;
        for (int sig = 1; sig <= 64; sig++)
        {
            if (sig == SIGKILL || sig == SIGSTOP) continue;
            if (Sys(SYS_rt_sigaction, sig, (long)&dfl, (long)&old, 8) < 0) continue;
            // SIGPIPE is the exception: the .NET runtime ignores it in this process at start-up, so an ignored
            // SIGPIPE here says nothing about the caller's wish; PROGRAM gets it at SIG_DFL, as from a shell.
            if (old.handler == 1 /* SIG_IGN */ && sig != SIGPIPE)
                Sys(SYS_rt_sigaction, sig, (long)&old, 0, 8);
        }
        ulong mask = p->SavedSignalMask;
        return Sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, 8) < 0 ? (int)SYS_rt_sigprocmask : 0;
    }

    [MethodImpl(Opt)]
    private static int WriteFile(ChildProgram* p, ChildStep* s)
    {
        int dir = (s->Flags & StepFlags.InProcSelf) != 0 ? p->ProcSelfFd : AT_FDCWD;
        int fd = (int)Sys(SYS_openat, dir, (long)s->Path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return (int)SYS_openat | ChildFailure.NamePath;
        long n = Sys(SYS_write, fd, (long)s->Source, s->Count);
        return CloseAnd(fd, n != s->Count ? (int)SYS_write | ChildFailure.NamePath : 0);
    }

    [MethodImpl(Opt)]
    private static int UserNamespaceFromParent(ChildProgram* p, ChildStep* s)
    {
        if (Sys(SYS_unshare, CLONE_NEWUSER) < 0) return (int)SYS_unshare;
        // The maps must be written from outside: in the new namespace this process has no CAP_SETUID over the
        // parent namespace's ids. Ask the parent, then wait for its one-byte answer.
        ChildReport ready;
        ready.Step = (int)(s - p->Steps);
        ready.What = ChildFailure.UserNamespaceReady;
        ready.Errno = 0;
        if (Sys(SYS_write, p->ReportFd, (long)&ready, ChildReport.Size) != ChildReport.Size) return (int)SYS_write;
        byte answer = 1;
        long n = Sys(SYS_read, p->SyncReadFd, (long)&answer, 1);
        if (n != 1 || answer != 0) { SetErrno(EPERM); return ChildFailure.SyncFailed; }
        Close(p->SyncReadFd);
        p->SyncReadFd = -1;
        return 0;
    }

    [MethodImpl(Opt)]
    private static int ClearCapabilities()
    {
        // capset header {version, pid} and two zeroed data words: effective, permitted, inheritable all empty.
        uint* header = stackalloc uint[2];
        header[0] = LINUX_CAPABILITY_VERSION_3;
        header[1] = 0;
        uint* data = stackalloc uint[6];
        for (int i = 0; i < 6; i++) data[i] = 0;
        if (Sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return (int)SYS_prctl;
        return Sys(SYS_capset, (long)header, (long)data) < 0 ? (int)SYS_capset : 0;
    }
}
