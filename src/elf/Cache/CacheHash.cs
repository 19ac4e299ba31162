using System.Buffers.Binary;
using System.Numerics;

namespace ConfineExec.Elf;

/// <summary>A fast 64-bit non-cryptographic hash: the cache file's name (of the key text) and its checksum
/// (of its body). Collisions cost nothing but a miss: the key text is stored and compared in full.</summary>
internal static class CacheHash
{
    private const ulong K = 0x9E3779B97F4A7C15;

    public static ulong Of(ReadOnlySpan<byte> data)
    {
        ulong h = 0x243F6A8885A308D3 ^ ((ulong)data.Length * K);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            h = BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(data[i..])) * K, 29);
        ulong tail = 0;
        for (int shift = 0; i < data.Length; i++, shift += 8) tail |= (ulong)data[i] << shift;
        h = (h ^ tail) * K;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccd;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53;
        h ^= h >> 33;
        return h;
    }
}
