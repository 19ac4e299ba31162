namespace ConfineExec.Elf.Reading;

/// <summary>
/// One program header (<c>Elf32_Phdr</c> / <c>Elf64_Phdr</c>), read field by field in on-disk order. The two
/// classes order the fields differently (p_flags moved up in ELF64 for alignment):
/// </summary>
/// <remarks>
/// <code>
///  ELF32 (32 bytes)              ELF64 (56 bytes)
///  0x00 p_type    u32            0x00 p_type    u32
///  0x04 p_offset  u32            0x04 p_flags   u32
///  0x08 p_vaddr   u32            0x08 p_offset  u64
///  0x0c p_paddr   u32            0x10 p_vaddr   u64
///  0x10 p_filesz  u32            0x18 p_paddr   u64
///  0x14 p_memsz   u32            0x20 p_filesz  u64
///  0x18 p_flags   u32            0x28 p_memsz   u64
///  0x1c p_align   u32            0x30 p_align   u64
/// </code>
/// </remarks>
internal readonly record struct ProgramHeader(
    uint Type, uint Flags, ulong Offset, ulong VAddr, ulong PAddr, ulong FileSize, ulong MemSize, ulong Align)
{
    public const uint PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4;

    public const int Size32 =
        sizeof(uint) +  // p_type
        sizeof(uint) +  // p_offset
        sizeof(uint) +  // p_vaddr
        sizeof(uint) +  // p_paddr
        sizeof(uint) +  // p_filesz
        sizeof(uint) +  // p_memsz
        sizeof(uint) +  // p_flags
        sizeof(uint);   // p_align

    public const int Size64 =
        sizeof(uint) +  // p_type
        sizeof(uint) +  // p_flags
        sizeof(ulong) + // p_offset
        sizeof(ulong) + // p_vaddr
        sizeof(ulong) + // p_paddr
        sizeof(ulong) + // p_filesz
        sizeof(ulong) + // p_memsz
        sizeof(ulong);  // p_align

    public static ProgramHeader Read(ref EndianReader r, bool is64)
    {
        if (is64)
        {
            uint type = r.U32("p_type");
            uint flags = r.U32("p_flags");
            return new ProgramHeader(type, flags,
                Offset: r.U64("p_offset"), VAddr: r.U64("p_vaddr"), PAddr: r.U64("p_paddr"),
                FileSize: r.U64("p_filesz"), MemSize: r.U64("p_memsz"), Align: r.U64("p_align"));
        }
        uint t = r.U32("p_type");
        ulong off = r.U32("p_offset"), va = r.U32("p_vaddr"), pa = r.U32("p_paddr");
        ulong fsz = r.U32("p_filesz"), msz = r.U32("p_memsz");
        uint f = r.U32("p_flags");
        return new ProgramHeader(t, f, off, va, pa, fsz, msz, Align: r.U32("p_align"));
    }

    /// <summary>True when virtual address <paramref name="vaddr"/> lies in the file-backed part of this
    /// PT_LOAD (what the loader maps from the file), giving the file offset it maps to.</summary>
    public bool TryMapFileBacked(ulong vaddr, out ulong fileOffset)
    {
        fileOffset = 0;
        if (Type != PT_LOAD || vaddr < VAddr || vaddr - VAddr >= FileSize) return false;
        fileOffset = Offset + (vaddr - VAddr);
        return fileOffset >= Offset; // false on wrap-around of a lying p_offset
    }
}
