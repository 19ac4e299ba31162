using ConfineExec.Elf.Interop;
using Microsoft.Win32.SafeHandles;

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

    private const byte EM_X86_64 = 62;

    /// <summary>Opens and verifies <paramref name="hostPath"/>; on acceptance reads the object.</summary>
    internal static Result OpenVerify(string hostPath)
    {
        int fd = Libc.OpenReadOnly(hostPath);
        if (fd < 0)
        {
            int e = -fd;
            return e is Libc.ENOENT or Libc.EACCES or Libc.ENOTDIR
                ? new Result(Verdict.Continue, null, 0, 0, e, false, null)
                : new Result(Verdict.Fatal, null, 0, 0, e, false, $"cannot open shared object file: errno {e}");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Span<byte> head = stackalloc byte[64];
        int n = Libc.PRead(fd, head, 0);
        if (n < 0) return new Result(Verdict.Fatal, null, 0, 0, -n, false, "cannot read file data");
        string? problem = Check(head[..n], out bool otherClass);
        if (otherClass) return new Result(Verdict.Continue, null, 0, 0, Libc.ENOENT, true, null);
        if (problem == "") return new Result(Verdict.Continue, null, 0, 0, Libc.ENOENT, false, null);
        if (problem is not null) return new Result(Verdict.Fatal, null, 0, 0, 0, false, problem);
        Libc.FStat(fd, out var st);
        var obj = ElfObject.Read(handle, hostPath);
        return new Result(Verdict.Accepted, obj, st.Dev, st.Ino, 0, false, null);
    }

    /// <summary>Null: acceptable. "": wrong machine (search continues). Otherwise glibc's error string.</summary>
    internal static string? Check(ReadOnlySpan<byte> h, out bool otherClass)
    {
        otherClass = false;
        if (h.Length < 64) return "file too short";
        if (!ElfObject.HasElfMagic(h)) return "invalid ELF header";
        if (h[4] != (byte)ElfClass.Elf64) { otherClass = true; return null; }
        if (h[5] != 1) return "ELF file data encoding not little-endian";
        if (h[6] != 1) return "ELF file version ident does not match current one";
        byte osabi = h[7], abiver = h[8];
        if (osabi != 0 && osabi != 3) return "ELF file OS ABI invalid";
        if (!(abiver == 0 || (osabi == 3 && abiver < 4))) return "ELF file ABI version invalid";
        for (int i = 9; i < 16; i++) if (h[i] != 0) return "nonzero padding in e_ident";
        if (BitConverter.ToUInt32(h.Slice(20, 4)) != 1) return "ELF file version does not match current one";
        if (BitConverter.ToUInt16(h.Slice(18, 2)) != EM_X86_64) return "";
        ushort type = BitConverter.ToUInt16(h.Slice(16, 2));
        if (type != (ushort)ElfType.Dyn && type != (ushort)ElfType.Exec) return "only ET_DYN and ET_EXEC can be loaded";
        if (BitConverter.ToUInt16(h.Slice(54, 2)) != 56) return "ELF file's phentsize not the expected size";
        return null;
    }
}
