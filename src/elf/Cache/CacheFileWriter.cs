using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace ConfineExec.Elf;

/// <summary>Appends the little-endian fields <see cref="CacheFileReader"/> reads to a growing buffer.</summary>
internal sealed class CacheFileWriter(int capacity)
{
    private byte[] _buffer = GC.AllocateUninitializedArray<byte>(capacity);

    public int Length { get; private set; }

    /// <summary>What was written, as memory (valid until the next write).</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>What was written (a view of the buffer, valid until the next write).</summary>
    public Span<byte> Written => _buffer.AsSpan(0, Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Grab(int n)
    {
        if (_buffer.Length - Length < n) Grow(n);
        var span = _buffer.AsSpan(Length, n);
        Length += n;
        return span;
    }

    private void Grow(int n)
    {
        var bigger = GC.AllocateUninitializedArray<byte>(Math.Max(_buffer.Length * 2, Length + n));
        _buffer.AsSpan(0, Length).CopyTo(bigger);
        _buffer = bigger;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U8(byte v) => Grab(1)[0] = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Grab(4), v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void I32(int v) => U32((uint)v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Grab(8), v);

    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Grab(bytes.Length));

    /// <summary>A u32 byte length and the UTF-8 bytes; with <paramref name="nulTerminated"/> a NUL after them
    /// (not counted), so the bytes can be handed to a syscall in place.</summary>
    public void String(string s, bool nulTerminated = false)
    {
        // ASCII (every path and reason in practice) is one byte per char: no separate count pass.
        if (Ascii.IsValid(s))
        {
            U32((uint)s.Length);
            Ascii.FromUtf16(s, Grab(s.Length), out _);
        }
        else
        {
            int n = Encoding.UTF8.GetByteCount(s);
            U32((uint)n);
            Encoding.UTF8.GetBytes(s, Grab(n));
        }
        if (nulTerminated) U8(0);
    }

    public void Stamp(in FileStamp s)
    {
        var b = Grab(FileStamp.EncodedSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b, s.DevMajor);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], s.DevMinor);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], s.Ino);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], s.Mode);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], s.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], s.Gid);
        BinaryPrimitives.WriteInt64LittleEndian(b[28..], s.Size);
        BinaryPrimitives.WriteInt64LittleEndian(b[36..], s.MtimeNs);
        BinaryPrimitives.WriteInt64LittleEndian(b[44..], s.CtimeNs);
    }
}
