using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

// openat, openat2, mkdirat, symlinkat, mknodat, unlinkat, fchmodat, fchdir, chdir, pivot_root, statx; host-side chown.
internal static unsafe partial class Libc
{
    internal const long SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_fcntl = 72, SYS_chdir = 80, SYS_fchdir = 81,
        SYS_pivot_root = 155, SYS_openat = 257, SYS_mkdirat = 258, SYS_mknodat = 259, SYS_symlinkat = 266,
        SYS_unlinkat = 263, SYS_linkat = 265, SYS_readlinkat = 267, SYS_fchmodat = 268, SYS_statx = 332, SYS_openat2 = 437;

    internal const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000, AT_RECURSIVE = 0x8000;
    internal const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_DIRECTORY = 0x10000,
        O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_TMPFILE = 0x410000;
    internal const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_IN_ROOT = 0x10;
    internal const int F_SETFD = 2;

    internal const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFREG = 0x8000, S_IFLNK = 0xA000;
    internal const int STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_SIZE = 0x200;

    /// <summary>struct open_how (linux/openat2.h), 24 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct open_how
    {
        public ulong flags;
        public ulong mode;
        public ulong resolve;
    }

    /// <summary>The head of struct statx (linux/stat.h); the kernel writes 256 bytes, so the struct is padded.
    /// <code>
    /// 0 stx_mask u32 | 4 stx_blksize u32 | 8 stx_attributes u64 | 16 stx_nlink u32 | 20 stx_uid u32
    /// 24 stx_gid u32 | 28 stx_mode u16 | 30 pad | 32 stx_ino u64 …
    /// </code></summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct statx_head
    {
        [FieldOffset(0)] public uint stx_mask;
        [FieldOffset(8)] public ulong stx_attributes;
        [FieldOffset(28)] public ushort stx_mode;
        [FieldOffset(40)] public ulong stx_size;
    }

    /// <summary>The kernel's dev_t encoding for mknodat (new_encode_dev).</summary>
    internal static uint EncodeDevice(uint major, uint minor) => (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, statx_head* buf);

    /// <summary>lstat()-style file type (S_IFMT bits) of a host path: false with <paramref name="errno"/> when it
    /// cannot be stat'ed (ENOENT/ENOTDIR: absent). One statx, no link following.</summary>
    internal static bool TryFileTypeNoFollow(string path, out int type, out int errno)
    {
        statx_head st;
        return TypeOf(statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st), &st, out type, out errno);
    }

    /// <summary>The S_IFMT bits of a statx result, or false with the errno it set (SetLastError imports).</summary>
    private static bool TypeOf(int result, statx_head* st, out int type, out int errno)
    {
        type = result < 0 ? 0 : st->stx_mode & S_IFMT;
        errno = result < 0 ? LastErrno : 0;
        return result >= 0;
    }

    [LibraryImport(Name, EntryPoint = "statx", SetLastError = true)]
    private static partial int statx_at(int dirfd, byte* path, int flags, uint mask, statx_head* buf);

    /// <summary><see cref="TryFileTypeNoFollow"/> of <paramref name="name"/> (one component, at most 255 UTF-8
    /// bytes) in directory <paramref name="dirfd"/>: the lookup walks one name, not the whole path.</summary>
    internal static bool TryFileTypeNoFollowAt(int dirfd, ReadOnlySpan<char> name, out int type, out int errno)
    {
        Span<byte> utf8 = stackalloc byte[256 * 3 + 1];
        int n = System.Text.Encoding.UTF8.GetBytes(name, utf8);
        utf8[n] = 0;
        statx_head st;
        fixed (byte* p = utf8)
            return TypeOf(statx_at(dirfd, p, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st), &st, out type, out errno);
    }

    /// <summary>st_size of what <paramref name="fd"/> refers to, or -1.</summary>
    internal static long SizeOf(int fd)
    {
        statx_head st;
        byte empty = 0;
        return statx_at(fd, &empty, AT_EMPTY_PATH, STATX_SIZE, &st) < 0 ? -1 : (long)st.stx_size;
    }

    [LibraryImport(Name, EntryPoint = "openat", SetLastError = true)]
    private static partial int openat_bytes(int dirfd, byte* path, int flags, int mode);

    [LibraryImport(Name, SetLastError = true)]
    private static partial nint getdents64(int fd, byte* buffer, nint count);

    /// <summary>
    /// The names in directory <paramref name="dirfd"/> (an O_PATH descriptor will do) with the S_IFMT type their
    /// entry records (d_type, which is the lstat type), added to <paramref name="types"/>; "." and "..", names
    /// that are not valid UTF-8 and entries of unknown type (DT_UNKNOWN) are left out, for the caller to statx.
    /// False if the directory could not be read (what was added stays).
    /// </summary>
    internal static bool TryReadDirectoryTypes(int dirfd, Dictionary<string, int> types)
    {
        byte* dotPath = stackalloc byte[2] { (byte)'.', 0 };
        int fd = openat_bytes(dirfd, dotPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
            return false;
        try
        {
            const int Size = 32 * 1024;
            byte* buffer = stackalloc byte[Size];
            while (true)
            {
                nint n = getdents64(fd, buffer, Size);
                if (n == 0)
                    return true;
                if (n < 0)
                    return false;
                // struct linux_dirent64: 0 d_ino u64 | 8 d_off s64 | 16 d_reclen u16 | 18 d_type u8 | 19 d_name[]
                for (nint at = 0; at < n;)
                {
                    byte* entry = buffer + at;
                    ushort length = *(ushort*)(entry + 16);
                    at += length;
                    var name = new ReadOnlySpan<byte>(entry + 19, length - 19);
                    name = name[..name.IndexOf((byte)0)];
                    int type = entry[18] switch
                    {
                        1 => 0x1000, // DT_FIFO
                        2 => S_IFCHR,
                        4 => S_IFDIR,
                        6 => 0x6000, // DT_BLK
                        8 => S_IFREG,
                        10 => S_IFLNK,
                        12 => 0xC000, // DT_SOCK
                        _ => 0,
                    };
                    if (type == 0 || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8) || !System.Text.Unicode.Utf8.IsValid(name))
                        continue;
                    types[System.Text.Encoding.UTF8.GetString(name)] = type;
                }
            }
        }
        finally { close(fd); }
    }

    /// <summary>An O_PATH descriptor of directory <paramref name="path"/> (close-on-exec), or -1.</summary>
    internal static int OpenDirectoryPath(string path) => open(path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    internal static void Chown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) < 0)
            throw new SyscallException("chown", path, null, LastErrno);
    }

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdir(string path, int mode);

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, int mode);

    /// <summary>mkdir(2); returns false if it already exists.</summary>
    internal static bool Mkdir(string path, int mode)
    {
        if (mkdir(path, mode) == 0)
            return true;
        int errno = LastErrno;
        if (errno == EEXIST)
            return false;
        throw new SyscallException("mkdir", path, null, errno);
    }

    internal static void Chmod(string path, int mode)
    {
        if (chmod(path, mode) < 0)
            throw new SyscallException("chmod", path, null, LastErrno);
    }

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport(Name, SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Name, SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Name, SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> in one write(2), as /proc/PID/uid_map needs.</summary>
    internal static void WriteFileOnce(string path, string text)
    {
        int fd = open(path, O_WRONLY | O_CLOEXEC, 0);
        if (fd < 0)
            throw new SyscallException("open", path, null, LastErrno);
        try
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
            fixed (byte* p = bytes)
            {
                if (write(fd, p, bytes.Length) != bytes.Length)
                    throw new SyscallException("write", path, null, LastErrno);
            }
        }
        finally { close(fd); }
    }

    /// <summary>read(2) retried on EINTR; returns the byte count (0 = EOF).</summary>
    internal static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = read(fd, p, buffer.Length);
                if (n >= 0)
                    return (int)n;
                int errno = LastErrno;
                if (errno != EINTR)
                    throw new SyscallException("read", null, null, errno);
            }
        }
    }

    internal static void Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (write(fd, p, buffer.Length) < 0)
            {
                int errno = LastErrno;
                if (errno != EINTR)
                    throw new SyscallException("write", null, null, errno);
            }
        }
    }

    /// <summary>Writes all of <paramref name="buffer"/>: short writes continue, EINTR retries.</summary>
    internal static void WriteAll(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            byte* p = start;
            nint left = buffer.Length;
            while (left > 0)
            {
                nint n = write(fd, p, left);
                if (n < 0)
                {
                    int errno = LastErrno;
                    if (errno == EINTR) continue;
                    throw new SyscallException("write", null, null, errno);
                }
                p += n;
                left -= n;
            }
        }
    }

    internal static void Close(int fd) => close(fd);
}
