namespace ConfineExec.Elf.Reading;

/// <summary>
/// The ELF file header (<c>Elf32_Ehdr</c> / <c>Elf64_Ehdr</c>), read field by field in on-disk order.
/// </summary>
/// <remarks>
/// <code>
///  off32 off64  size(32/64)  field
///  0x00  0x00   16           e_ident: 7f 'E' 'L' 'F' | CLASS | DATA | VERSION | OSABI | ABIVERSION | PAD[7]
///  0x10  0x10   2            e_type
///  0x12  0x12   2            e_machine
///  0x14  0x14   4            e_version
///  0x18  0x18   4 / 8        e_entry
///  0x1c  0x20   4 / 8        e_phoff
///  0x20  0x28   4 / 8        e_shoff       (read, never followed: the loader works from segments)
///  0x24  0x30   4            e_flags
///  0x28  0x34   2            e_ehsize
///  0x2a  0x36   2            e_phentsize
///  0x2c  0x38   2            e_phnum
///  0x2e  0x3a   2            e_shentsize
///  0x30  0x3c   2            e_shnum
///  0x32  0x3e   2            e_shstrndx
///  0x34  0x40                (end: 52 / 64 bytes)
/// </code>
/// </remarks>
internal readonly record struct ElfHeader(
    ElfClass Class, bool BigEndian, byte IdentVersion, byte OsAbi, byte AbiVersion,
    ushort Type, ushort Machine, uint Version, ulong Entry, ulong PhOff, ulong ShOff, uint Flags,
    ushort EhSize, ushort PhEntSize, ushort PhNum, ushort ShEntSize, ushort ShNum, ushort ShStrNdx)
{
    public const int IdentSize = 16;
    public const int EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6, EI_OSABI = 7, EI_ABIVERSION = 8, EI_PAD = 9;
    public const int PhNumOffset32 = 0x2c, PhNumOffset64 = 0x38;

    public const int Size32 =
        IdentSize +
        sizeof(ushort) +  // e_type
        sizeof(ushort) +  // e_machine
        sizeof(uint) +    // e_version
        sizeof(uint) +    // e_entry
        sizeof(uint) +    // e_phoff
        sizeof(uint) +    // e_shoff
        sizeof(uint) +    // e_flags
        sizeof(ushort) +  // e_ehsize
        sizeof(ushort) +  // e_phentsize
        sizeof(ushort) +  // e_phnum
        sizeof(ushort) +  // e_shentsize
        sizeof(ushort) +  // e_shnum
        sizeof(ushort);   // e_shstrndx

    public const int Size64 =
        IdentSize +
        sizeof(ushort) +  // e_type
        sizeof(ushort) +  // e_machine
        sizeof(uint) +    // e_version
        sizeof(ulong) +   // e_entry
        sizeof(ulong) +   // e_phoff
        sizeof(ulong) +   // e_shoff
        sizeof(uint) +    // e_flags
        sizeof(ushort) +  // e_ehsize
        sizeof(ushort) +  // e_phentsize
        sizeof(ushort) +  // e_phnum
        sizeof(ushort) +  // e_shentsize
        sizeof(ushort) +  // e_shnum
        sizeof(ushort);   // e_shstrndx

    public bool Is64 => Class == ElfClass.Elf64;
    public int Size => Is64 ? Size64 : Size32;

    /// <summary>Reads the header at the start of <paramref name="head"/> (file offset 0). The caller has
    /// already checked the magic; class and data encoding are validated here because every later field
    /// depends on them.</summary>
    public static ElfHeader Read(ReadOnlySpan<byte> head, string path)
    {
        var ident = new EndianReader(head, 0, false, path).Slice(0, IdentSize, "e_ident");
        byte cls = ident[EI_CLASS], data = ident[EI_DATA];
        if (cls is not (1 or 2))
            ElfThrow.Invalid(path, EI_CLASS, "e_ident[EI_CLASS]", $"is {cls}, expected 1 (ELFCLASS32) or 2 (ELFCLASS64)");
        if (data is not (1 or 2))
            ElfThrow.Invalid(path, EI_DATA, "e_ident[EI_DATA]", $"is {data}, expected 1 (ELFDATA2LSB) or 2 (ELFDATA2MSB)");
        if (ident[EI_VERSION] != 1)
            ElfThrow.Invalid(path, EI_VERSION, "e_ident[EI_VERSION]", $"is {ident[EI_VERSION]}, expected 1 (EV_CURRENT)");

        bool is64 = cls == 2;
        var r = new EndianReader(head, 0, data == 2, path) { Position = IdentSize };
        var h = new ElfHeader(
            Class: (ElfClass)cls,
            BigEndian: data == 2,
            IdentVersion: ident[EI_VERSION],
            OsAbi: ident[EI_OSABI],
            AbiVersion: ident[EI_ABIVERSION],
            Type: r.U16("e_type"),
            Machine: r.U16("e_machine"),
            Version: r.U32("e_version"),
            Entry: r.Word(is64, "e_entry"),
            PhOff: r.Word(is64, "e_phoff"),
            ShOff: r.Word(is64, "e_shoff"),
            Flags: r.U32("e_flags"),
            EhSize: r.U16("e_ehsize"),
            PhEntSize: r.U16("e_phentsize"),
            PhNum: r.U16("e_phnum"),
            ShEntSize: r.U16("e_shentsize"),
            ShNum: r.U16("e_shnum"),
            ShStrNdx: r.U16("e_shstrndx"));
        return h;
    }
}
