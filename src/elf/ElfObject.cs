using ConfineExec.Elf.Reading;
using Microsoft.Win32.SafeHandles;

namespace ConfineExec.Elf;

public enum ElfClass : byte { Elf32 = 1, Elf64 = 2 }

public enum ElfType : ushort { None = 0, Rel = 1, Exec = 2, Dyn = 3, Core = 4 }

/// <summary>What glibc's x86-64 <c>open_verify</c> makes of a candidate file found during a library search.</summary>
public enum ElfCompatibility
{
    /// <summary>ELFCLASS64, little-endian, EI_VERSION 1, OSABI SYSV/GNU, e_machine 62, ET_DYN/ET_EXEC,
    /// e_phentsize 56, program headers readable: ld.so loads it.</summary>
    Compatible,
    /// <summary>Wrong ELF class or wrong machine: ld.so skips the file and the search continues (as ENOENT).</summary>
    Incompatible,
    /// <summary>Anything else (no magic, file too short, bad ident, ET_REL, bad e_phentsize, unreadable, a
    /// directory): ld.so fails the whole lookup of that name — the search stops.</summary>
    Invalid,
}

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

    /// <summary>Bytes this read fetched from the file (ELF header + program headers, PT_INTERP, PT_DYNAMIC up
    /// to DT_NULL, the used span of the string table). A diagnostic: it must not grow with the file's size.</summary>
    public long BytesRead { get; init; }

    /// <summary>Reads the object at <paramref name="path"/>. IO errors propagate as the BCL's exceptions
    /// (FileNotFoundException, UnauthorizedAccessException, DirectoryNotFoundException, IOException);
    /// a file that is not ELF or is corrupt throws <see cref="ElfFormatException"/> (a directory too:
    /// "is a directory").</summary>
    public static ElfObject Read(string path)
    {
        using var handle = OpenForRead(path);
        return ElfObjectReader.Read(handle, path);
    }

    /// <summary>Reads from an open handle; <paramref name="path"/> is used in messages only.</summary>
    public static ElfObject Read(SafeFileHandle handle, string path) => ElfObjectReader.Read(handle, path);

    /// <summary>glibc 2.36's x86-64 <c>open_verify</c> on the first bytes of a file (at least 64 of them
    /// when the file has that many; 832 are what glibc reads). <paramref name="reason"/> is glibc's message
    /// ("wrong ELF class: ELFCLASS32", "invalid ELF header", "file too short", …), empty when compatible.</summary>
    /// <param name="fileLength">The file's size: the program header table must lie within it.</param>
    public static ElfCompatibility CheckCompatibility(ReadOnlySpan<byte> head, long fileLength, out string reason) =>
        LoaderCompatibility.Check(head, fileLength, out reason);

    /// <summary><see cref="CheckCompatibility(ReadOnlySpan{byte}, long, out string)"/> on an open file.</summary>
    public static ElfCompatibility CheckCompatibility(SafeFileHandle handle, out string reason) =>
        LoaderCompatibility.Check(handle, out reason);

    /// <summary>Opens <paramref name="path"/> and checks it as ld.so would. A directory is
    /// <see cref="ElfCompatibility.Invalid"/> ("cannot read file data: Is a directory", as read() gives EISDIR
    /// to glibc); open failures (ENOENT, EACCES, ENOTDIR — on which ld.so continues its search) propagate as the
    /// BCL's exceptions.</summary>
    public static ElfCompatibility CheckCompatibility(string path, out string reason)
    {
        ObservationLog.Current?.Probed(path, follow: true);
        if (Directory.Exists(path)) { reason = "cannot read file data: Is a directory"; return ElfCompatibility.Invalid; }
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return LoaderCompatibility.Check(handle, out reason);
    }

    private static SafeFileHandle OpenForRead(string path)
    {
        ObservationLog.Current?.Probed(path, follow: true);
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (UnauthorizedAccessException) when (Directory.Exists(path))
        {
            throw new ElfFormatException(path, 0, "file", "is a directory, not an ELF object");
        }
    }

    /// <summary>True when the bytes start with the ELF magic.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F';
}
