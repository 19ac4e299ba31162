using System.Runtime.InteropServices;

namespace ConfineExec.Elf.Interop;

/// <summary>What storing a closure-cache file needs: a private directory, an exclusive temporary file and an
/// atomic rename over the final name, all relative to the directory's descriptor (no path re-walked).</summary>
internal static unsafe partial class Libc
{
    internal const int O_WRONLY = 1;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;

    internal const int EEXIST = 17;

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true)]
    internal static partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    internal static partial int unlinkat(int dirfd, byte* path, int flags);

    /// <summary>mkdir: 0 or errno.</summary>
    internal static int MakeDirectory(string path, uint mode) =>
        mkdir(path, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Writes all of <paramref name="data"/>: 0 or errno (EIO for a write that made no progress).</summary>
    internal static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, p + done, data.Length - done);
                if (n < 0)
                {
                    int e = Marshal.GetLastPInvokeError();
                    if (e == EINTR) continue;
                    return e;
                }
                if (n == 0) return 5; // EIO
                done += (int)n;
            }
        }
        return 0;
    }
}
