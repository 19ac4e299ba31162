using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace ConfineExec.Elf;

/// <summary>A fast 64-bit non-cryptographic hash: the cache file's name (of the key text) and its checksum
/// (of its body). Collisions cost nothing but a miss: the key text is stored and compared in full.</summary>
internal static class CacheHash
{
    private const ulong K = 0x9E3779B97F4A7C15;

    public static ulong Of(ReadOnlySpan<byte> data)
    {
        // Four independent lanes over 32-byte blocks (the multiplies overlap), folded into one.
        ulong a = 0x243F6A8885A308D3 ^ ((ulong)data.Length * K), b = 0x13198A2E03707344, c = 0xA4093822299F31D0, d = 0x082EFA98EC4E6C89;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        int w = 0;
        for (; w + 4 <= words.Length; w += 4)
        {
            a = BitOperations.RotateLeft((a ^ words[w]) * K, 29);
            b = BitOperations.RotateLeft((b ^ words[w + 1]) * K, 29);
            c = BitOperations.RotateLeft((c ^ words[w + 2]) * K, 29);
            d = BitOperations.RotateLeft((d ^ words[w + 3]) * K, 29);
        }
        ulong h = a ^ BitOperations.RotateLeft(b, 17) ^ BitOperations.RotateLeft(c, 31) ^ BitOperations.RotateLeft(d, 47);
        int i = w * 8;
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
