using System.Buffers.Binary;
using System.Text;

namespace ConfineExec.Elf.Tests.Reading;

/// <summary>
/// Builds minimal ELF images for tests: header, program headers (PT_LOAD over the whole file, mapped at
/// <see cref="LoadBase"/> so address translation is not the identity, PT_INTERP, PT_DYNAMIC), the interpreter
/// string, a dynamic string table and the dynamic array — in either class and byte order, with hooks to lie.
/// </summary>
internal sealed class TestElfWriter
{
    public const ulong LoadBase = 0x10000;

    public bool Is64 { get; init; } = true;
    public bool BigEndian { get; init; }
    public ushort Machine { get; init; } = 62;
    public ushort Type { get; init; } = 3;
    public byte OsAbi { get; init; }
    public string? Interpreter { get; init; }
    public bool WithDynamic { get; init; } = true;
    public List<string> Needed { get; init; } = [];
    public string? SoName { get; init; }
    public string? RPath { get; init; }
    public string? RunPath { get; init; }
    public ulong Flags1 { get; init; }

    // Lies.
    public ushort? PhEntSize { get; init; }
    public ushort? PhNum { get; init; }
    public ulong? DynamicOffset { get; init; }
    public ulong? StrtabAddress { get; init; }
    public ulong? StrSz { get; init; }
    public bool OmitStrtab { get; init; }

    /// <summary>Offsets of the parts in the last built image.</summary>
    public int PhOff { get; private set; }
    public int PhEnd { get; private set; }
    public int InterpOffset { get; private set; }
    public int StrtabOffset { get; private set; }
    public int StrtabSize { get; private set; }
    public int DynOffset { get; private set; }
    public int DynEnd { get; private set; }

    public byte[] Build()
    {
        int ehsize = Is64 ? 64 : 52, phentsize = Is64 ? 56 : 32, dynsize = Is64 ? 16 : 8;
        int phnum = 1 + (Interpreter != null ? 1 : 0) + (WithDynamic ? 1 : 0);
        PhOff = ehsize;
        PhEnd = ehsize + phnum * phentsize;

        var strtab = new MemoryStream();
        strtab.WriteByte(0);
        int AddString(string s) { int at = (int)strtab.Length; var b = Encoding.UTF8.GetBytes(s); strtab.Write(b); strtab.WriteByte(0); return at; }
        var dyn = new List<(long Tag, ulong Value)>();
        foreach (var n in Needed) dyn.Add((1, (ulong)AddString(n)));
        if (SoName != null) dyn.Add((14, (ulong)AddString(SoName)));
        if (RPath != null) dyn.Add((15, (ulong)AddString(RPath)));
        if (RunPath != null) dyn.Add((29, (ulong)AddString(RunPath)));
        if (Flags1 != 0) dyn.Add((0x6ffffffb, Flags1));

        InterpOffset = PhEnd;
        var interp = Interpreter != null ? Encoding.UTF8.GetBytes(Interpreter + "\0") : [];
        StrtabOffset = InterpOffset + interp.Length;
        StrtabSize = (int)strtab.Length;
        DynOffset = (StrtabOffset + StrtabSize + 7) & ~7;
        if (!OmitStrtab)
        {
            dyn.Add((5, StrtabAddress ?? LoadBase + (ulong)StrtabOffset));
            dyn.Add((10, StrSz ?? (ulong)StrtabSize));
        }
        dyn.Add((0, 0));
        DynEnd = DynOffset + dyn.Count * dynsize;
        var image = new byte[WithDynamic ? DynEnd : StrtabOffset + StrtabSize];

        // ELF header.
        image[0] = 0x7f; image[1] = (byte)'E'; image[2] = (byte)'L'; image[3] = (byte)'F';
        image[4] = (byte)(Is64 ? 2 : 1); image[5] = (byte)(BigEndian ? 2 : 1); image[6] = 1; image[7] = OsAbi;
        int p = 16;
        U16(image, ref p, Type); U16(image, ref p, Machine); U32(image, ref p, 1);
        Word(image, ref p, 0); Word(image, ref p, (ulong)PhOff); Word(image, ref p, 0);
        U32(image, ref p, 0); U16(image, ref p, (ushort)ehsize); U16(image, ref p, PhEntSize ?? (ushort)phentsize);
        U16(image, ref p, PhNum ?? (ushort)phnum); U16(image, ref p, 0); U16(image, ref p, 0); U16(image, ref p, 0);

        p = PhOff;
        Phdr(image, ref p, 1, 0, LoadBase, (ulong)image.Length);
        if (Interpreter != null) Phdr(image, ref p, 3, (ulong)InterpOffset, LoadBase + (ulong)InterpOffset, (ulong)interp.Length);
        if (WithDynamic) Phdr(image, ref p, 2, DynamicOffset ?? (ulong)DynOffset, LoadBase + (ulong)DynOffset, (ulong)(DynEnd - DynOffset));

        interp.CopyTo(image, InterpOffset);
        strtab.ToArray().CopyTo(image, StrtabOffset);
        if (WithDynamic)
        {
            p = DynOffset;
            foreach (var (tag, value) in dyn) { Word(image, ref p, (ulong)tag); Word(image, ref p, value); }
        }
        return image;
    }

    private void Phdr(byte[] b, ref int p, uint type, ulong offset, ulong vaddr, ulong size)
    {
        if (Is64)
        {
            U32(b, ref p, type); U32(b, ref p, 4);
            U64(b, ref p, offset); U64(b, ref p, vaddr); U64(b, ref p, vaddr); U64(b, ref p, size); U64(b, ref p, size); U64(b, ref p, 8);
        }
        else
        {
            U32(b, ref p, type); U32(b, ref p, (uint)offset); U32(b, ref p, (uint)vaddr); U32(b, ref p, (uint)vaddr);
            U32(b, ref p, (uint)size); U32(b, ref p, (uint)size); U32(b, ref p, 4); U32(b, ref p, 4);
        }
    }

    private void Word(byte[] b, ref int p, ulong v) { if (Is64) U64(b, ref p, v); else U32(b, ref p, (uint)v); }
    private void U16(byte[] b, ref int p, ushort v) { if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(p), v); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(p), v); p += 2; }
    private void U32(byte[] b, ref int p, uint v) { if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(p), v); else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(p), v); p += 4; }
    private void U64(byte[] b, ref int p, ulong v) { if (BigEndian) BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(p), v); else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(p), v); p += 8; }
}

/// <summary>A scratch directory outside /tmp (integration tests assert nothing new appears there), removed on dispose.</summary>
internal sealed class ScratchDir : IDisposable
{
    public ScratchDir()
    {
        Path = System.IO.Path.Combine("/var/tmp", "confine-elf-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string name, byte[] content)
    {
        string p = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(p, content);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
