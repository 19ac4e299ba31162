using System.Buffers.Binary;
using System.Runtime.InteropServices;

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

    private const uint PT_NOTE = 4, NT_GNU_BUILD_ID = 3;

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
        for (int i = 0; i < info->PhNum; i++)
        {
            byte* ph = info->Phdr + 56 * i;
            if (BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(ph, 4)) != PT_NOTE) continue;
            ulong vaddr = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(ph + 16, 8));
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(ph + 40, 8));
            var notes = new ReadOnlySpan<byte>((byte*)(info->Addr + (nuint)vaddr), (int)Math.Min(memsz, 1 << 16));
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
