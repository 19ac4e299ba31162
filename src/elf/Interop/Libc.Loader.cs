using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ConfineExec.Elf.Reading;

namespace ConfineExec.Elf.Interop;

/// <summary>The dynamic loader's list of loaded objects: the running executable's own GNU build ID, which
/// identifies the code doing a closure scan even where <c>/proc/self/exe</c> names another file (under
/// valgrind or an emulator).</summary>
internal static unsafe partial class Libc
{
    /// <summary>The start of glibc's <c>struct dl_phdr_info</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct DlPhdrInfo
    {
        public nuint Addr;
        public byte* Name;
        public byte* Phdr;
        public ushort PhNum;
    }

    [LibraryImport("libc", EntryPoint = "dl_iterate_phdr")]
    private static partial int dl_iterate_phdr(delegate* unmanaged<DlPhdrInfo*, nuint, void*, int> callback, void* data);

    private const uint NT_GNU_BUILD_ID = 3;

    /// <summary>The main executable's build ID as lowercase hex, or null when it has none.</summary>
    internal static string? ExecutableBuildId()
    {
        byte* id = stackalloc byte[65];
        id[0] = 0;
        dl_iterate_phdr(&FindBuildId, id);
        int n = id[0];
        return n == 0 ? null : Convert.ToHexStringLower(new ReadOnlySpan<byte>(id + 1, n));
    }

    /// <summary>Called first for the main executable: copies its NT_GNU_BUILD_ID (up to 64 bytes) after a length
    /// byte into <paramref name="data"/>, and stops the iteration.</summary>
    [UnmanagedCallersOnly]
    private static int FindBuildId(DlPhdrInfo* info, nuint size, void* data)
    {
        byte* result = (byte*)data;
        // The loader's own program headers (ELF64, this machine's byte order): in memory, so trusted.
        var r = new EndianReader(new ReadOnlySpan<byte>(info->Phdr, info->PhNum * ProgramHeader.Size64), 0, bigEndian: false, "(running executable)");
        for (int i = 0; i < info->PhNum; i++)
        {
            ProgramHeader ph = ProgramHeader.Read(ref r, is64: true);
            if (ph.Type != ProgramHeader.PT_NOTE) continue;
            var notes = new ReadOnlySpan<byte>((byte*)(info->Addr + (nuint)ph.VAddr), (int)Math.Min(ph.MemSize, 1 << 16));
            while (notes.Length >= 12)
            {
                uint nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes), descSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]);
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
                ulong nameEnd = 12 + ((nameSize + 3UL) & ~3UL), end = nameEnd + ((descSize + 3UL) & ~3UL);
                if (end > (ulong)notes.Length) break;
                if (type == NT_GNU_BUILD_ID && nameSize == 4 && notes.Slice(12, 4).SequenceEqual("GNU\0"u8) && descSize is > 0 and <= 64)
                {
                    result[0] = (byte)descSize;
                    notes.Slice((int)nameEnd, (int)descSize).CopyTo(new Span<byte>(result + 1, 64));
                    return 1;
                }
                notes = notes[(int)end..];
            }
        }
        return 1;
    }
}
