namespace ConfineExec.Elf.Reading;

/// <summary>
/// One <c>Elf32_Dyn</c> / <c>Elf64_Dyn</c> entry of PT_DYNAMIC, read in on-disk order.
/// </summary>
/// <remarks>
/// <code>
///  ELF32 (8 bytes)               ELF64 (16 bytes)
///  0x00 d_tag        s32         0x00 d_tag        s64
///  0x04 d_val/d_ptr  u32         0x08 d_val/d_ptr  u64
/// </code>
/// </remarks>
internal readonly record struct DynamicEntry(long Tag, ulong Value)
{
    public const long DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_STRSZ = 10, DT_SONAME = 14, DT_RPATH = 15,
        DT_RUNPATH = 29, DT_FLAGS = 30, DT_FLAGS_1 = 0x6ffffffb, DT_AUXILIARY = 0x7ffffffd, DT_FILTER = 0x7fffffff;

    public const int Size32 =
        sizeof(int) +   // d_tag
        sizeof(uint);   // d_val

    public const int Size64 =
        sizeof(long) +  // d_tag
        sizeof(ulong);  // d_val

    public static DynamicEntry Read(ref EndianReader r, bool is64) =>
        is64
            ? new DynamicEntry((long)r.U64("d_tag"), r.U64("d_val"))
            : new DynamicEntry((int)r.U32("d_tag"), r.U32("d_val"));

    /// <summary>Human name for messages.</summary>
    public static string TagName(long tag) => tag switch
    {
        DT_NEEDED => "DT_NEEDED",
        DT_SONAME => "DT_SONAME",
        DT_RPATH => "DT_RPATH",
        DT_RUNPATH => "DT_RUNPATH",
        DT_AUXILIARY => "DT_AUXILIARY",
        DT_FILTER => "DT_FILTER",
        _ => $"d_tag 0x{tag:x}",
    };
}
