using ConfineExec.Elf.Interop;
using ConfineExec.Elf.Reading;

namespace ConfineExec.Elf;

/// <summary>
/// glibc's <c>open_verify</c> on x86-64: open the candidate, read the ELF header, and decide between "use it",
/// "not this one, keep searching" (absent, unreadable, other ELF class or machine) and "stop: this file is
/// broken" (not ELF, short, wrong byte order/version/OS ABI/type/phentsize, a directory).
/// </summary>
internal static class LoaderFile
{
    internal enum Verdict { Accepted, Continue, Fatal }

    internal readonly record struct Result(Verdict Verdict, ElfObject? Object, ulong Dev, ulong Ino, int Errno, bool OtherClass, string? Problem);

    /// <summary>Opens and verifies <paramref name="hostPath"/>; on acceptance reads the object.</summary>
    internal static Result OpenVerify(string hostPath, bool readObject = true)
    {
        int fd = Libc.OpenReadOnly(hostPath);
        if (fd < 0)
        {
            int e = -fd;
            return e is Libc.ENOENT or Libc.EACCES or Libc.ENOTDIR
                ? new Result(Verdict.Continue, null, 0, 0, e, false, null)
                : new Result(Verdict.Fatal, null, 0, 0, e, false, $"cannot open shared object file: errno {e}");
        }
        try
        {
            Span<byte> head = stackalloc byte[HeadSize];
            int n = Libc.PRead(fd, head, 0);
            if (n < 0) return new Result(Verdict.Fatal, null, 0, 0, -n, false, "cannot read file data");
            Libc.FStat(fd, out var st);
            switch (ElfObject.CheckCompatibility(head[..n], st.Size, out string reason))
            {
                case ElfCompatibility.Incompatible:
                    return new Result(Verdict.Continue, null, 0, 0, Libc.ENOENT, reason.StartsWith("wrong ELF class", StringComparison.Ordinal), reason);
                case ElfCompatibility.Invalid:
                    return new Result(Verdict.Fatal, null, 0, 0, 0, false, reason);
            }
            // The reader starts from the bytes open_verify already holds: no second read of the head.
            var obj = readObject ? ElfObjectReader.Read(fd, st.Size, head[..n], hostPath) : null;
            return new Result(Verdict.Accepted, obj, st.Dev, st.Ino, 0, false, null);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    /// <summary>glibc's FILEBUF_SIZE: what open_verify reads first.</summary>
    internal const int HeadSize = 832;
}
