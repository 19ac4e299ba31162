using System.Buffers.Binary;
using System.Text;
using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// The bytes of one cache file: a memoized scan's key, its observations and its closure.
/// </summary>
/// <remarks>
/// <code>
/// 0x00 magic "CECC"   u32      all integers little-endian; a string is u32 byte length + UTF-8
/// 0x04 format version u32
/// 0x08 file length    u32
/// 0x0c checksum       u64      CacheHash of bytes [0x14, file length)
/// 0x14 key            string   ClosureCacheKey text
///      env count      u32      then per variable: name string, u8 set, value string when set
///      obs count      u32      then per observation: path string + NUL, u8 flags, i32 errno,
///                              FileStamp (52 bytes) when errno is 0
///      string count   u32      then the closure's distinct strings
///      program        u32      string index; then u8 bit 0 = MainUsesOrigin
///      entry count    u32      then per entry: u32 path, u8 kind, u32 target, u32 reason, u32 neededBy
///                              (string indices, 0xffffffff = null)
///      missing count  u32      then u32 string indices; then warnings the same way
/// </code>
/// A path is NUL-terminated in place so that a hit hands it to statx straight from the file's buffer.
/// </remarks>
internal static class ClosureCacheFile
{
    public const uint Magic = 0x43434543; // "CECC"
    public const int HeaderSize = 20;
    private const uint NoString = uint.MaxValue;

    /// <summary>The file for a scan (a view of a buffer of its own).</summary>
    public static ReadOnlyMemory<byte> Encode(string key, ObservationLog log, IReadOnlyList<Observation> observations, Closure closure)
    {
        var w = new CacheFileWriter(1024 + key.Length + 80 * observations.Count + 160 * closure.Entries.Count);
        w.U32(Magic);
        w.U32(ClosureCache.FormatVersion);
        w.U32(0); // length, patched below
        w.U64(0); // checksum, patched below
        w.String(key);

        w.U32((uint)log.Environment.Count);
        foreach (var (name, value) in log.Environment)
        {
            w.String(name);
            w.U8(value is null ? (byte)0 : (byte)1);
            if (value is not null) w.String(value);
        }

        w.U32((uint)observations.Count);
        foreach (var o in observations)
        {
            w.String(o.Path, nulTerminated: true);
            w.U8((byte)o.Flags);
            w.I32(o.Errno);
            if (o.Errno == 0) w.Stamp(Observation.Comparable(o.Stamp, o.Flags));
        }

        var index = new Dictionary<string, uint>(closure.Entries.Count * 2, OrdinalPathComparer.Instance);
        var strings = new List<string>();
        uint Index(string? s)
        {
            if (s is null) return NoString;
            if (!index.TryGetValue(s, out uint i))
            {
                index[s] = i = (uint)strings.Count;
                strings.Add(s);
            }
            return i;
        }
        uint program = Index(closure.ProgramPath);
        var entries = new uint[closure.Entries.Count * 4];
        for (int k = 0; k < closure.Entries.Count; k++)
        {
            var e = closure.Entries[k];
            entries[4 * k] = Index(e.Path);
            entries[4 * k + 1] = Index(e.Target);
            entries[4 * k + 2] = Index(e.Reason);
            entries[4 * k + 3] = Index(e.NeededBy);
        }
        var missing = new uint[closure.MissingLibraries.Count];
        for (int k = 0; k < missing.Length; k++) missing[k] = Index(closure.MissingLibraries[k]);
        var warnings = new uint[closure.Warnings.Count];
        for (int k = 0; k < warnings.Length; k++) warnings[k] = Index(closure.Warnings[k]);

        w.U32((uint)strings.Count);
        foreach (string s in strings) w.String(s);
        w.U32(program);
        w.U8(closure.MainUsesOrigin ? (byte)1 : (byte)0);
        w.U32((uint)closure.Entries.Count);
        for (int k = 0; k < closure.Entries.Count; k++)
        {
            w.U32(entries[4 * k]);
            w.U8((byte)closure.Entries[k].Kind);
            w.U32(entries[4 * k + 1]);
            w.U32(entries[4 * k + 2]);
            w.U32(entries[4 * k + 3]);
        }
        w.U32((uint)missing.Length);
        foreach (uint m in missing) w.U32(m);
        w.U32((uint)warnings.Length);
        foreach (uint m in warnings) w.U32(m);

        var bytes = w.Written;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], (uint)bytes.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[12..], CacheHash.Of(bytes[HeaderSize..]));
        return w.Memory;
    }

    /// <summary>Why a file was not used (tests and diagnostics name the first reason found).</summary>
    internal enum Verdict { Hit, Corrupt, OtherKey, EnvironmentChanged, FileChanged }

    /// <summary>
    /// Decodes <paramref name="file"/> and checks it against the present: the key, each environment variable
    /// read (in <paramref name="environment"/>), each observation (one statx each, stopping at the first that
    /// differs). <see cref="Verdict.Hit"/> with the stored closure, or why not; never throws for any bytes.
    /// </summary>
    public static unsafe Verdict TryDecode(byte[] file, int length, ReadOnlySpan<byte> key,
        IReadOnlyDictionary<string, string> environment, out Closure? closure, out string? changed)
    {
        closure = null;
        changed = null;
        var data = file.AsSpan(0, length);
        if (data.Length < HeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) != ClosureCache.FormatVersion
            || BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) != (uint)data.Length
            || BinaryPrimitives.ReadUInt64LittleEndian(data[12..]) != CacheHash.Of(data[HeaderSize..]))
            return Verdict.Corrupt;

        var r = new CacheFileReader(data);
        r.TryBytes(HeaderSize, out _);
        if (!r.TryBlob(out var storedKey)) return Verdict.Corrupt;
        if (!storedKey.SequenceEqual(key)) return Verdict.OtherKey;

        if (!r.TryCount(5, out int envCount)) return Verdict.Corrupt;
        for (int i = 0; i < envCount; i++)
        {
            if (!r.TryBlob(out var name) || !r.TryU8(out byte set)) return Verdict.Corrupt;
            ReadOnlySpan<byte> value = default;
            if (set > 1 || (set == 1 && !r.TryBlob(out value))) return Verdict.Corrupt;
            string n = Encoding.UTF8.GetString(name);
            bool present = environment.TryGetValue(n, out string? now);
            if (present != (set == 1) || (present && !Utf8Equals(value, now!)))
            {
                changed = n;
                return Verdict.EnvironmentChanged;
            }
        }

        if (!r.TryCount(10, out int obsCount)) return Verdict.Corrupt;
        fixed (byte* basePtr = file)
        {
            for (int i = 0; i < obsCount; i++)
            {
                if (!r.TryU32(out uint pathLength)) return Verdict.Corrupt;
                int pathAt = r.Position;
                if (pathLength == 0 || !r.TryBytes(pathLength, out var path) || !r.TryU8(out byte nul) || nul != 0
                    || path.IndexOf((byte)0) >= 0
                    || !r.TryU8(out byte flags) || flags > 3 || !r.TryI32(out int errno)) return Verdict.Corrupt;
                FileStamp recorded = default;
                if (errno == 0 && !r.TryStamp(out recorded)) return Verdict.Corrupt;
                int liveErrno = Libc.Statx(basePtr + pathAt, (flags & (byte)ObservationFlags.Follow) != 0, out var live);
                if (!Observation.Same(errno, recorded, (ObservationFlags)flags, liveErrno, live))
                {
                    changed = Encoding.UTF8.GetString(path);
                    return Verdict.FileChanged;
                }
            }
        }

        if (!r.TryCount(4, out int stringCount)) return Verdict.Corrupt;
        var strings = new string[stringCount];
        for (int i = 0; i < stringCount; i++)
        {
            if (!r.TryBlob(out var s)) return Verdict.Corrupt;
            strings[i] = Decode(s);
        }
        if (!r.TryU32(out uint program) || program >= (uint)stringCount || !r.TryU8(out byte closureFlags) || closureFlags > 1
            || !r.TryCount(17, out int entryCount)) return Verdict.Corrupt;
        var entries = new List<ClosureEntry>(entryCount);
        for (int i = 0; i < entryCount; i++)
        {
            if (!r.TryU32(out uint p) || !r.TryU8(out byte kind) || !r.TryU32(out uint target)
                || !r.TryU32(out uint reason) || !r.TryU32(out uint neededBy)
                || p >= (uint)stringCount || kind > (byte)ClosureEntryKind.Directory || reason >= (uint)stringCount
                || !TryOptional(strings, target, out string? t) || !TryOptional(strings, neededBy, out string? nb))
                return Verdict.Corrupt;
            entries.Add(new ClosureEntry(strings[p], (ClosureEntryKind)kind, t, strings[reason], nb));
        }
        if (!TryStringList(ref r, strings, out var missing) || !TryStringList(ref r, strings, out var warnings) || !r.AtEnd)
            return Verdict.Corrupt;

        closure = new Closure
        {
            ProgramPath = strings[program],
            Entries = entries,
            MainUsesOrigin = closureFlags == 1,
            MissingLibraries = missing,
            Warnings = warnings,
        };
        return Verdict.Hit;
    }

    /// <summary>UTF-8 to a string; paths and reasons are ASCII, which widens in place without the general
    /// decoder's passes (counting, then transcoding).</summary>
    private static string Decode(ReadOnlySpan<byte> utf8) =>
        System.Text.Ascii.IsValid(utf8)
            ? string.Create(utf8.Length, utf8, static (chars, bytes) => System.Text.Ascii.ToUtf16(bytes, chars, out _))
            : Encoding.UTF8.GetString(utf8);

    private static bool TryOptional(string[] strings, uint index, out string? s)
    {
        s = null;
        if (index == NoString) return true;
        if (index >= (uint)strings.Length) return false;
        s = strings[index];
        return true;
    }

    private static bool TryStringList(ref CacheFileReader r, string[] strings, out List<string> list)
    {
        list = [];
        if (!r.TryCount(4, out int n)) return false;
        list.Capacity = n;
        for (int i = 0; i < n; i++)
        {
            if (!r.TryU32(out uint k) || k >= (uint)strings.Length) return false;
            list.Add(strings[k]);
        }
        return true;
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string s)
    {
        Span<byte> buffer = stackalloc byte[256];
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Span<byte> encoded = max <= buffer.Length ? buffer : new byte[max];
        int n = Encoding.UTF8.GetBytes(s, encoded);
        return encoded[..n].SequenceEqual(utf8);
    }
}
