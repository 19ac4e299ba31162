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
        [FieldOffset(48)] public long Size;
        [FieldOffset(88)] public long MtimeSec;
        [FieldOffset(96)] public long MtimeNsec;
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

    /// <summary>open(O_RDONLY|O_CLOEXEC): the descriptor, or -errno.</summary>
    internal static int OpenReadOnly(string path)
    {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>stat (follows links): 0 or errno.</summary>
    internal static int Stat(string path, out StatBuffer buf) =>
        stat(path, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>lstat: 0 or errno.</summary>
    internal static int LStat(string path, out StatBuffer buf) =>
        lstat(path, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>fstat: 0 or errno.</summary>
    internal static int FStat(int fd, out StatBuffer buf) =>
        fstat(fd, out buf) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>readlink: the link text, or null with <paramref name="errno"/> set (EINVAL: not a link).</summary>
    internal static string? ReadLink(string path, out int errno)
    {
        Span<byte> buffer = stackalloc byte[4096]; // PATH_MAX; not zeroed (SkipLocalsInit)
        nint n;
        fixed (byte* p = buffer)
            n = readlink(path, p, buffer.Length);
        if (n < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
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

    /// <summary>access(X_OK) as the caller: true when executable.</summary>
    internal static bool IsExecutable(string path) => access(path, X_OK) == 0;
}
