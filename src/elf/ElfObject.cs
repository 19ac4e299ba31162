namespace ConfineExec.Elf;

public enum ElfClass : byte { Elf32 = 1, Elf64 = 2 }

public enum ElfType : ushort { None = 0, Rel = 1, Exec = 2, Dyn = 3, Core = 4 }

/// <summary>
/// What ld.so reads of an ELF object: the ELF header, the program headers, PT_INTERP, PT_DYNAMIC and the
/// dynamic string table reached through the PT_LOAD mapping. Never the section headers, never the whole file:
/// the bytes read do not grow with the file's size.
/// </summary>
public sealed class ElfObject
{
    public required string Path { get; init; }
    public required ElfClass Class { get; init; }
    public required bool BigEndian { get; init; }
    public required ushort Machine { get; init; }
    public required ElfType Type { get; init; }
    public required byte OsAbi { get; init; }
    public required byte AbiVersion { get; init; }

    /// <summary>PT_INTERP string, or null when there is none.</summary>
    public string? Interpreter { get; init; }
    public bool HasDynamic { get; init; }
    public IReadOnlyList<string> Needed { get; init; } = [];
    public string? SoName { get; init; }
    /// <summary>DT_RPATH as stored (null if absent). Note: ld.so ignores it when DT_RUNPATH is present;
    /// callers apply that rule.</summary>
    public string? RPath { get; init; }
    public string? RunPath { get; init; }
    public ulong Flags { get; init; }
    public ulong Flags1 { get; init; }
    public IReadOnlyList<string> Auxiliary { get; init; } = [];
    public IReadOnlyList<string> Filter { get; init; } = [];

    public const ulong DF_1_NODEFLIB = 0x800;

    /// <summary>Reads the object at <paramref name="path"/>. IO errors propagate as the BCL's exceptions
    /// (FileNotFoundException, UnauthorizedAccessException, DirectoryNotFoundException, IOException);
    /// a file that is not ELF or is corrupt throws <see cref="ElfFormatException"/>.</summary>
    public static ElfObject Read(string path) => throw new NotImplementedException();

    /// <summary>Reads from an open handle; <paramref name="path"/> is used in messages only.</summary>
    public static ElfObject Read(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path) => throw new NotImplementedException();

    /// <summary>True when the bytes start with the ELF magic.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F';
}
