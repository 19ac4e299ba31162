using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace ConfineExec.Elf;

/// <summary>
/// Sequential little-endian reads over a cache file's bytes, every one bounds-checked: a <c>Try…</c> that
/// returns false means the file is short or lies (the caller treats the whole file as absent), never an
/// exception.
/// </summary>
internal ref struct CacheFileReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }
    public readonly bool AtEnd => Position == _data.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryBytes(uint length, out ReadOnlySpan<byte> bytes)
    {
        if (length > (uint)(_data.Length - Position)) { bytes = default; return false; }
        bytes = _data.Slice(Position, (int)length);
        Position += (int)length;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryU8(out byte value)
    {
        if (!TryBytes(1, out var b)) { value = 0; return false; }
        value = b[0];
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryU32(out uint value)
    {
        if (!TryBytes(4, out var b)) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt32LittleEndian(b);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryI32(out int value)
    {
        bool ok = TryU32(out uint v);
        value = (int)v;
        return ok;
    }

    /// <summary>A u32 length and that many bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryBlob(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        return TryU32(out uint n) && TryBytes(n, out bytes);
    }

    /// <summary>A count of items each at least <paramref name="minItemSize"/> bytes long: false when the rest
    /// of the file could not hold them (so a lying count never sizes an allocation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryCount(int minItemSize, out int count)
    {
        count = 0;
        if (!TryU32(out uint n) || (ulong)n * (ulong)minItemSize > (ulong)(_data.Length - Position)) return false;
        count = (int)n;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryStamp(out FileStamp stamp)
    {
        stamp = default;
        if (!TryBytes(FileStamp.EncodedSize, out var b)) return false;
        stamp = new FileStamp(
            BinaryPrimitives.ReadUInt32LittleEndian(b), BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(b[8..]), BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[20..]), BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[28..]), BinaryPrimitives.ReadInt64LittleEndian(b[36..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[44..]));
        return true;
    }
}
