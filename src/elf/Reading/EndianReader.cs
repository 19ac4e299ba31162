using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace ConfineExec.Elf.Reading;

/// <summary>
/// The one bounds-checked view over bytes read from a file: every ELF and ld.so.cache read goes through
/// <see cref="Slice"/>, so a short or lying field always becomes an <see cref="ElfFormatException"/> naming the
/// file, the absolute file offset and the field, never an <see cref="IndexOutOfRangeException"/>.
/// </summary>
/// <remarks>
/// <see cref="FileOffset"/> is where <c>data[0]</c> sits in the file, so messages carry real file offsets even
/// though only a window was read. Sequential readers (<see cref="U16"/> …) advance <see cref="Position"/>;
/// header types use them to read their fields in on-disk order.
/// </remarks>
internal ref struct EndianReader
{
    private readonly ReadOnlySpan<byte> _data;

    public EndianReader(ReadOnlySpan<byte> data, long fileOffset, bool bigEndian, string path)
    {
        _data = data;
        FileOffset = fileOffset;
        BigEndian = bigEndian;
        Path = path;
        Position = 0;
    }

    public readonly long FileOffset { get; }
    public readonly bool BigEndian { get; }
    public readonly string Path { get; }
    public int Position { get; set; }
    public readonly int Length => _data.Length;

    /// <summary>Bytes [offset, offset+length) of the window, or an exception naming <paramref name="field"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ReadOnlySpan<byte> Slice(ulong offset, ulong length, string field)
    {
        // Subtraction form: cannot overflow whatever offset and length a file claims.
        if (offset > (ulong)_data.Length || length > (ulong)_data.Length - offset)
        {
            ElfThrow.Truncated(Path, FileOffset + (long)Math.Min(offset, (ulong)_data.Length), field,
                length, _data.Length - (long)Math.Min(offset, (ulong)_data.Length));
        }
        return _data.Slice((int)offset, (int)length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte U8(string field) => Next(1, field)[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort U16(string field)
    {
        var s = Next(2, field);
        return BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint U32(string field)
    {
        var s = Next(4, field);
        return BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong U64(string field)
    {
        var s = Next(8, field);
        return BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
    }

    /// <summary>An ELF "word" of the object's class: Elf32_Addr/Off/Word (4 bytes) or the 64-bit ones (8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Word(bool is64, string field) => is64 ? U64(field) : U32(field);

    /// <summary>Random-access u32 (does not move <see cref="Position"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly uint U32At(ulong offset, string field)
    {
        var s = Slice(offset, 4, field);
        return BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
    }

    /// <summary>Random-access u64 (does not move <see cref="Position"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong U64At(ulong offset, string field)
    {
        var s = Slice(offset, 8, field);
        return BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
    }

    /// <summary>The bytes of the NUL-terminated string at <paramref name="offset"/>, without the NUL; they must
    /// end before <paramref name="limit"/> (a window offset), else the string is reported unterminated.</summary>
    public readonly ReadOnlySpan<byte> CString(ulong offset, ulong limit, string field, string limitName)
    {
        if (limit > (ulong)_data.Length) limit = (ulong)_data.Length;
        if (offset >= limit)
        {
            ElfThrow.Invalid(Path, FileOffset + (long)Math.Min(offset, (ulong)_data.Length), field,
                $"string offset lies outside {limitName}");
        }
        var rest = _data.Slice((int)offset, (int)(limit - offset));
        int nul = rest.IndexOf((byte)0);
        if (nul < 0) ElfThrow.Unterminated(Path, FileOffset + (long)offset, field, limitName);
        return rest[..nul];
    }

    /// <summary><see cref="CString"/> without naming a field: false when the offset lies outside or no NUL
    /// comes before <paramref name="limit"/> (the caller then asks <see cref="CString"/>, which throws).</summary>
    public readonly bool TryCString(ulong offset, ulong limit, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (limit > (ulong)_data.Length) limit = (ulong)_data.Length;
        if (offset >= limit) return false;
        var rest = _data.Slice((int)offset, (int)(limit - offset));
        int nul = rest.IndexOf((byte)0);
        if (nul < 0) return false;
        value = rest[..nul];
        return true;
    }

    public readonly string Utf8String(ulong offset, ulong limit, string field, string limitName) =>
        Encoding.UTF8.GetString(CString(offset, limit, field, limitName));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Next(int size, string field)
    {
        var s = Slice((ulong)Position, (ulong)size, field);
        Position += size;
        return s;
    }
}
