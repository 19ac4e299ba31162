using System.Runtime.InteropServices;

namespace ConfineExec.Bench.LaunchFloor;

/// <summary>
/// <c>launch-floor [--ro-bind SRC DST | --symlink TARGET PATH]... -- PROGRAM [ARG]...</c>: a fresh mount
/// namespace, a tmpfs root, each SRC cloned read-only onto an empty mount point at DST, each symlink made, the
/// root made read-only, pivot_root, exec. The calls a chroot-only launch makes, without anything that decides
/// them. Any failure exits 125 (this is a benchmark reference, not a tool).
/// </summary>
internal static unsafe partial class Program
{
    private const long SYS_pivot_root = 155, SYS_open_tree = 428, SYS_move_mount = 429, SYS_fsopen = 430,
        SYS_fsconfig = 431, SYS_fsmount = 432, SYS_mount_setattr = 442;
    private const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_RECURSIVE = 0x8000, AT_SYMLINK_NOFOLLOW = 0x100;
    private const int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;
    private const int OPEN_TREE_CLONE = 1, MOVE_MOUNT_F_EMPTY_PATH = 4, MOUNT_ATTR_RDONLY = 1;
    private const int CLONE_NEWNS = 0x20000, MS_REC = 0x4000, MS_SLAVE = 0x80000, MS_PRIVATE = 0x40000, MNT_DETACH = 2;

    [LibraryImport("libc")] private static partial long syscall(long n, long a, long b, long c, long d, long e);
    [LibraryImport("libc")] private static partial int unshare(int flags);
    [LibraryImport("libc")] private static partial int mount(byte* source, byte* target, byte* type, ulong flags, void* data);
    [LibraryImport("libc")] private static partial int umount2(byte* target, int flags);
    [LibraryImport("libc")] private static partial int openat(int dir, byte* path, int flags, int mode);
    [LibraryImport("libc")] private static partial int mkdirat(int dir, byte* path, int mode);
    [LibraryImport("libc")] private static partial int mknodat(int dir, byte* path, int mode, ulong dev);
    [LibraryImport("libc")] private static partial int symlinkat(byte* target, int dir, byte* path);
    [LibraryImport("libc")] private static partial int close(int fd);
    [LibraryImport("libc")] private static partial int fchdir(int fd);
    [LibraryImport("libc")] private static partial int chdir(byte* path);
    [LibraryImport("libc")] private static partial int stat(byte* path, byte* buf);
    [LibraryImport("libc")] private static partial int execve(byte* path, byte** argv, byte** envp);
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_GetEnviron")] private static partial byte** GetEnviron();

    private static int Main(string[] args)
    {
        int end = Array.IndexOf(args, "--");
        if (end < 0 || end % 3 != 0 || end + 1 >= args.Length) return 2;
        Check(unshare(CLONE_NEWNS));
        Check(mount(null, Z("/"), null, MS_REC | MS_SLAVE, null));
        int fs = (int)Sys(SYS_fsopen, (long)Z("tmpfs"), 1);
        Sys(SYS_fsconfig, fs, 1, (long)Z("mode"), (long)Z("0755"), 0);
        Sys(SYS_fsconfig, fs, 6, 0, 0, 0);
        int root = (int)Sys(SYS_fsmount, fs, 1, 0x2 | 0x4); // MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        close(fs);
        long* readOnly = stackalloc long[4] { MOUNT_ATTR_RDONLY, 0, 0, 0 };
        byte* st = stackalloc byte[144];
        for (int i = 0; i < end; i += 3)
        {
            string what = args[i], from = args[i + 1], to = args[i + 2];
            int parent = Parent(root, to, out string name);
            if (what == "--symlink")
                Check(symlinkat(Z(from), parent, Z(name)));
            else if (what == "--ro-bind")
            {
                Check(stat(Z(from), st));
                bool dir = (*(uint*)(st + 24) & 0xF000) == 0x4000; // st_mode at offset 24 (x86-64)
                Check(dir ? mkdirat(parent, Z(name), 0x1ed) : mknodat(parent, Z(name), 0x8000 | 0x124, 0));
                int clone = (int)Sys(SYS_open_tree, AT_FDCWD, (long)Z(from), OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
                Sys(SYS_mount_setattr, clone, (long)Z(""), AT_EMPTY_PATH | AT_RECURSIVE, (long)readOnly, 32);
                Sys(SYS_move_mount, clone, (long)Z(""), parent, (long)Z(name), MOVE_MOUNT_F_EMPTY_PATH);
                close(clone);
            }
            else return 2;
            close(parent);
        }
        Sys(SYS_mount_setattr, root, (long)Z(""), AT_EMPTY_PATH, (long)readOnly, 32);
        Sys(SYS_move_mount, root, (long)Z(""), AT_FDCWD, (long)Z("/"), MOVE_MOUNT_F_EMPTY_PATH);
        Check(fchdir(root));
        Sys(SYS_pivot_root, (long)Z("."), (long)Z("."));
        Check(mount(null, Z("."), null, MS_REC | MS_PRIVATE, null));
        Check(umount2(Z("."), MNT_DETACH));
        Check(chdir(Z("/")));
        int argc = args.Length - end - 1;
        byte** argv = (byte**)NativeMemory.Alloc((nuint)(argc + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < argc; i++) argv[i] = Z(args[end + 1 + i]);
        argv[argc] = null;
        execve(argv[0], argv, GetEnviron());
        return 127;
    }

    /// <summary>The directory that holds <paramref name="path"/> under <paramref name="root"/>, made as needed.</summary>
    private static int Parent(int root, string path, out string name)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int dir = openat(root, Z("."), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        for (int i = 0; i < parts.Length - 1; i++)
        {
            byte* part = Z(parts[i]);
            int next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
            if (next < 0)
            {
                Check(mkdirat(dir, part, 0x1ed));
                next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
            }
            close(dir);
            dir = Check(next);
        }
        name = parts[^1];
        return dir;
    }

    private static long Sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0)
    {
        long r = syscall(n, a, b, c, d, e);
        if (r < 0) Environment.Exit(125);
        return r;
    }

    private static int Check(int r)
    {
        if (r < 0) Environment.Exit(125);
        return r;
    }

    /// <summary>NUL-terminated ASCII copy in native memory (the process execs or exits; nothing is freed).</summary>
    private static byte* Z(string s)
    {
        var b = (byte*)NativeMemory.Alloc((nuint)s.Length + 1);
        for (int i = 0; i < s.Length; i++) b[i] = (byte)s[i];
        b[s.Length] = 0;
        return b;
    }
}
