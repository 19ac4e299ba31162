using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace ConfineExec.Elf.Reading;

/// <summary>
/// glibc 2.36's <c>open_verify</c> (elf/dl-load.c) for an x86-64 ld.so, as a pure function of the first bytes
/// of a candidate file: the closure engine uses it to skip files exactly where ld.so skips them.
/// </summary>
/// <remarks>
/// Checks, in glibc's order (the first failure decides):
/// <list type="number">
/// <item>fewer than sizeof(Elf64_Ehdr) = 64 bytes → invalid, "file too short";</item>
/// <item>e_ident[0..7) ≠ 7f 'E' 'L' 'F' 2 1 1, or EI_OSABI ∉ {SYSV, GNU}, or the ABI version is not acceptable,
///   or EI_PAD not zero: no magic → invalid "invalid ELF header"; EI_CLASS ≠ ELFCLASS64 → <b>incompatible</b>
///   (search continues; glibc's <c>found_other_class</c>); then data encoding, ident version, OS ABI, ABI version,
///   padding → invalid;</item>
/// <item>e_version ≠ 1 → invalid;</item>
/// <item>e_machine ≠ EM_X86_64 (62) → <b>incompatible</b> (<c>elf_machine_matches_host</c>);</item>
/// <item>e_type ∉ {ET_DYN, ET_EXEC} → invalid; e_phentsize ≠ 56 → invalid;</item>
/// <item>the program header table must be readable (within the file) → else invalid "cannot read file data".</item>
/// </list>
/// ABI version rule (sysdeps/gnu/ldsodefs.h): 0, or below LIBC_ABI_MAX (3 on x86-64 2.36: DEFAULT, UNIQUE,
/// ABSOLUTE) with EI_OSABI = GNU. Not emulated: the PT_NOTE ABI-tag kernel-version check (every library on a
/// current system requires an older kernel than the running one).
/// </remarks>
internal static class LoaderCompatibility
{
    public const int ReadSize = 832; // glibc's FILEBUF_SIZE
    private const ushort EM_X86_64 = 62;
    private const int LibcAbiMax = 3;

    public static ElfCompatibility Check(ReadOnlySpan<byte> head, long fileLength, out string reason)
    {
        if (head.Length < ElfHeader.Size64) { reason = "file too short"; return ElfCompatibility.Invalid; }

        byte osabi = head[ElfHeader.EI_OSABI], abiversion = head[ElfHeader.EI_ABIVERSION];
        bool abiOk = abiversion == 0 || (osabi == 3 && abiversion < LibcAbiMax);
        bool identOk = ElfObject.HasElfMagic(head) && head[ElfHeader.EI_CLASS] == 2 && head[ElfHeader.EI_DATA] == 1
            && head[ElfHeader.EI_VERSION] == 1 && osabi is (0 or 3) && abiOk
            && head[ElfHeader.EI_PAD..ElfHeader.IdentSize].IndexOfAnyExcept((byte)0) < 0;
        if (!identOk)
        {
            if (!ElfObject.HasElfMagic(head)) reason = "invalid ELF header";
            else if (head[ElfHeader.EI_CLASS] != 2) { reason = $"wrong ELF class: ELFCLASS{(head[ElfHeader.EI_CLASS] == 1 ? "32" : head[ElfHeader.EI_CLASS].ToString())}"; return ElfCompatibility.Incompatible; }
            else if (head[ElfHeader.EI_DATA] != 1) reason = "ELF file data encoding not little-endian";
            else if (head[ElfHeader.EI_VERSION] != 1) reason = "ELF file version ident does not match current one";
            else if (osabi is not (0 or 3)) reason = "ELF file OS ABI invalid";
            else if (!abiOk) reason = "ELF file ABI version invalid";
            else reason = "nonzero padding in e_ident";
            return ElfCompatibility.Invalid;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(head[0x14..]) != 1) { reason = "ELF file version does not match current one"; return ElfCompatibility.Invalid; }
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(head[0x12..]);
        if (machine != EM_X86_64) { reason = $"wrong machine: e_machine {machine}, expected {EM_X86_64} (EM_X86_64)"; return ElfCompatibility.Incompatible; }
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(head[0x10..]);
        if (type is not (2 or 3)) { reason = "only ET_DYN and ET_EXEC can be loaded"; return ElfCompatibility.Invalid; }
        if (BinaryPrimitives.ReadUInt16LittleEndian(head[0x36..]) != ProgramHeader.Size64) { reason = "ELF file's phentsize not the expected size"; return ElfCompatibility.Invalid; }
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(head[0x20..]);
        ulong mapLength = (ulong)BinaryPrimitives.ReadUInt16LittleEndian(head[0x38..]) * ProgramHeader.Size64;
        // glibc uses the buffer when the table is inside it, else preads it; a short pread fails the open.
        if (phoff > (ulong)fileLength || mapLength > (ulong)fileLength - phoff) { reason = "cannot read file data"; return ElfCompatibility.Invalid; }
        reason = "";
        return ElfCompatibility.Compatible;
    }

    public static ElfCompatibility Check(SafeFileHandle handle, out string reason)
    {
        Span<byte> head = stackalloc byte[ReadSize];
        long ignored = 0;
        int n = ElfObjectReader.PRead(handle, head, 0, ref ignored);
        return Check(head[..n], RandomAccess.GetLength(handle), out reason);
    }
}
