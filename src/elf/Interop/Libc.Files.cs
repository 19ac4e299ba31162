using System.Runtime.InteropServices;

namespace ConfineExec.Elf.Interop;

/// <summary>
/// The few file-reading syscalls the closure walk needs that the BCL does not expose: <c>lstat</c>/<c>stat</c>/
/// <c>fstat</c> (device and inode numbers, file type without following links), <c>readlink</c> and a raw
/// <c>open</c> (the BCL's open adds an fstat and an advisory lock per file), <c>pread</c> without the BCL's
/// lseek per handle, and <c>mmap</c> for scanning a loader image without copying it. All return errno
/// instead of throwing: for a loader emulation ENOENT is an answer, not a failure.
/// </summary>
internal static unsafe partial class Libc
{
    internal const int O_RDONLY = 0;
    internal const int O_CLOEXEC = 0x80000;

    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int EACCES = 13;
    internal const int ENOTDIR = 20;
    internal const int EINVAL = 22;

    internal const uint S_IFMT = 0xF000;
    internal const uint S_IFDIR = 0x4000;
    internal const uint S_IFREG = 0x8000;
    internal const uint S_IFLNK = 0xA000;

    internal const int X_OK = 1;

    /// <summary>x86-64 <c>struct stat</c> (144 bytes); only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    internal struct StatBuffer
    {
        [FieldOffset(0)] public ulong Dev;
        [FieldOffset(8)] public ulong Ino;
        [FieldOffset(24)] public uint Mode;
        [FieldOffset(28)] public uint Uid;
        [FieldOffset(32)] public uint Gid;
        [FieldOffset(48)] public long Size;
        [FieldOffset(88)] public long MtimeSec;
        [FieldOffset(96)] public long MtimeNsec;
        [FieldOffset(104)] public long CtimeSec;
        [FieldOffset(112)] public long CtimeNsec;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    internal static partial int fstat(int fd, out StatBuffer buf);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int stat(string path, out StatBuffer buf);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int lstat(string path, out StatBuffer buf);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint readlink(string path, byte* buf, nint size);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    internal static partial nint pread(int fd, byte* buf, nint count, long offset);

    internal const int PROT_READ = 1;
    internal const int MAP_PRIVATE = 2;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int munmap(void* addr, nuint length);

    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_DIRECTORY = 0x10000;
    internal const int O_NOFOLLOW = 0x20000;

    /// <summary>STATX_TYPE | MODE | UID | GID | MTIME | CTIME | INO | SIZE: what a <see cref="FileStamp"/> holds.</summary>
    internal const uint StatxStampMask = 0x1 | 0x2 | 0x8 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200;

    /// <summary>x86-64 <c>struct statx</c> (256 bytes); only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatxBuffer
    {
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSec;
        [FieldOffset(104)] public uint CtimeNsec;
        [FieldOffset(112)] public long MtimeSec;
        [FieldOffset(120)] public uint MtimeNsec;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    internal static partial int statx(int dirfd, byte* path, int flags, uint mask, out StatxBuffer buf);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    internal static partial int openat(int dirfd, byte* path, int flags, uint mode);

    /// <summary>open(O_RDONLY|O_CLOEXEC): the descriptor, or -errno. While an <see cref="ObservationLog"/>
    /// records, the file opened (or the path that failed) is observed.</summary>
    internal static int OpenReadOnly(string path)
    {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int result = fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
        ObservationLog.Current?.Opened(path, result);
        return result;
    }

    /// <summary>stat (follows links): 0 or errno.</summary>
    internal static int Stat(string path, out StatBuffer buf)
    {
        int err = stat(path, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();
        ObservationLog.Current?.Statted(path, follow: true, err, buf);
        return err;
    }

    /// <summary>lstat: 0 or errno.</summary>
    internal static int LStat(string path, out StatBuffer buf)
    {
        int err = lstat(path, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();
        ObservationLog.Current?.Statted(path, follow: false, err, buf);
        return err;
    }

    /// <summary>fstat: 0 or errno (a descriptor: what it names was observed when it was opened).</summary>
    internal static int FStat(int fd, out StatBuffer buf) =>
        fstat(fd, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>statx into a stamp: 0 or errno. <paramref name="path"/> is NUL-terminated UTF-8.</summary>
    internal static int Statx(byte* path, bool follow, out FileStamp stamp)
    {
        if (statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, StatxStampMask, out var b) != 0)
        {
            stamp = default;
            return Marshal.GetLastPInvokeError();
        }
        stamp = FileStamp.From(b);
        return 0;
    }

    /// <summary>statx of a string path into a stamp: 0 or errno.</summary>
    internal static int Statx(string path, bool follow, out FileStamp stamp)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(path, bytes);
        bytes[n] = 0;
        fixed (byte* p = bytes)
            return Statx(p, follow, out stamp);
    }

    /// <summary>readlink: the link text, or null with <paramref name="errno"/> set (EINVAL: not a link).</summary>
    internal static string? ReadLink(string path, out int errno)
    {
        Span<byte> buffer = stackalloc byte[4096]; // PATH_MAX; not zeroed (SkipLocalsInit)
        nint n;
        fixed (byte* p = buffer)
            n = readlink(path, p, buffer.Length);
        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        ObservationLog.Current?.Probed(path, follow: false);
        if (n < 0) return null;
        return System.Text.Encoding.UTF8.GetString(buffer[..(int)n]);
    }

    /// <summary>pread into <paramref name="buffer"/>: bytes read, or -errno.</summary>
    internal static int PRead(int fd, Span<byte> buffer, long offset)
    {
        nint n;
        fixed (byte* p = buffer)
            n = pread(fd, p, buffer.Length, offset);
        return n >= 0 ? (int)n : -Marshal.GetLastPInvokeError();
    }

    /// <summary>access(X_OK) as the caller: true when executable (decided by the mode, owner and group the
    /// observation stamps, and the credentials in the cache key).</summary>
    internal static bool IsExecutable(string path)
    {
        bool ok = access(path, X_OK) == 0;
        ObservationLog.Current?.Probed(path, follow: true);
        return ok;
    }
}
