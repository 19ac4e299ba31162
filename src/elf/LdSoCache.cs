using System.Text;
using ConfineExec.Elf.Reading;

namespace ConfineExec.Elf;

public enum LdSoCacheFormat { Old, New, Compat }

/// <param name="Flags">Entry flags (x86-64 ld.so accepts only 0x0303).</param>
/// <param name="HwCap">Raw hwcap field (new format; 0 for old-format entries).</param>
/// <param name="HwCapsSubdir">For named glibc-hwcaps entries, the subdir name (e.g. <c>x86-64-v3</c>); else null.</param>
/// <param name="IsaLevel">For named hwcaps entries, the ISA level stored in bits 32–41; else 0.</param>
public sealed record LdSoCacheEntry(int Flags, string Key, string Value, ulong HwCap, string? HwCapsSubdir, int IsaLevel);

/// <summary>
/// <c>/etc/ld.so.cache</c> parsed directly (old <c>ld.so-1.7.0</c>, new <c>glibc-ld.so.cache1.1</c> and the
/// combined format), answering lookups exactly as glibc 2.36's <c>_dl_load_cache_lookup</c> does.
/// </summary>
/// <remarks>
/// <code>
/// new header (struct cache_file_new, 48 bytes)   old header (struct cache_file, 16 bytes)
/// 0x00 "glibc-ld.so.cache" "1.1"  (20)           0x00 "ld.so-1.7.0" (11) + 1 pad
/// 0x14 nlibs             u32                     0x0c nlibs  u32
/// 0x18 len_strings       u32                     0x10 libs[nlibs]: {i32 flags; u32 key; u32 value}
/// 0x1c flags (endianness: 0 unset, 1 bad, 2 LE, 3 BE) + 3 pad    strings follow libs[];
/// 0x20 extension_offset  u32 (absolute, 4-aligned, 0 = none)     offsets relative to them
/// 0x24 unused[3]
/// 0x30 libs[nlibs]: {i32 flags; u32 key; u32 value; u32 osversion; u64 hwcap}  (24 bytes each)
///      then strings; offsets are relative to the new header
/// extension: {u32 magic 0xEAA42174; u32 count; {u32 tag; u32 flags; u32 offset; u32 size}[count]}
///      tag 0 generator text, tag 1 glibc-hwcaps subdir names (u32 string offsets)
/// compat = old header + old libs, then (8-aligned) a complete new cache; ld.so uses only the new part.
/// </code>
/// Format selection mirrors glibc: new magic (size &gt; 48, nlibs fits) first, else old magic (nlibs fits) with a
/// new header at ALIGN8(16 + 12·nlibs) making it Compat. Anything glibc would refuse (bad magic, nlibs too large,
/// endianness flag 1 or big-endian) is an <see cref="ElfFormatException"/>; so, stricter than glibc (which only
/// skips the bad entry), is any key/value string outside the file or unterminated, and a malformed extension.
/// Lookup is glibc's binary search with <c>_dl_cache_libcmp</c> over the raw key bytes (kept exact even for a
/// mis-sorted file, which a dictionary would not be).
/// </remarks>
public sealed class LdSoCache
{
    public const int DefaultX8664Flags = 0x0303;

    private const int NewHeaderSize = 48, NewEntrySize = 24, OldHeaderSize = 16, OldEntrySize = 12;
    private const uint ExtensionMagic = 0xEAA42174;
    private const ulong HwcapExtension = 1UL << 62;
    private const int IsaLevelMask = (1 << 10) - 1;
    private static ReadOnlySpan<byte> NewMagic => "glibc-ld.so.cache1.1"u8;
    private static ReadOnlySpan<byte> OldMagic => "ld.so-1.7.0"u8;

    private readonly record struct RawEntry(int Flags, int KeyStart, int ValueStart, ulong HwCap);
    private sealed record PriorityMemo(IReadOnlyList<string> Active, uint[] Priorities);

    private byte[] _data = [];
    private RawEntry[] _raw = [];
    // For each glibc-hwcaps array index: the file offset where glibc reads its name for the priority merge
    // (relative to the FILE start — the compat-format quirk), or -1 when unreadable.
    private int[] _hwcapsNameOffsets = [];
    private PriorityMemo? _priorityMemo; // one reference: safe to race
    private string?[] _hwcapsNames = [];
    private LdSoCacheEntry[]? _entries; // decoded on first use: lookups read raw bytes

    public required string Path { get; init; }
    public required LdSoCacheFormat Format { get; init; }
    /// <summary>Entries in file order (all flags; lookups filter). For Compat files, the new-format part.
    /// Decoded on first access: a lookup never needs them (it compares raw key bytes and decodes one value).</summary>
    public IReadOnlyList<LdSoCacheEntry> Entries => _entries ??= DecodeEntries();

    /// <summary>Number of entries (without decoding them).</summary>
    public int Count => _raw.Length;
    /// <summary>The generator extension string (ldconfig version), or null.</summary>
    public string? Generator { get; init; }

    /// <summary>Parses; throws <see cref="ElfFormatException"/> on a corrupt file.</summary>
    public static LdSoCache Parse(ReadOnlySpan<byte> data, string path) => ParseOwned(data.ToArray(), path);

    /// <summary>Parses <paramref name="owned"/>, which the cache keeps (no copy). Every string is checked
    /// (inside the file, NUL-terminated) but none is decoded.</summary>
    private static LdSoCache ParseOwned(byte[] owned, string path)
    {
        ReadOnlySpan<byte> data = owned;
        var r = new EndianReader(data, 0, false, path);
        int lastNul = data.LastIndexOf((byte)0);
        int length = data.Length;
        LdSoCacheFormat format;
        int header; // offset of the header whose entries ld.so searches
        if (length > NewHeaderSize && data.StartsWith(NewMagic))
        {
            format = LdSoCacheFormat.New;
            header = 0;
        }
        else if (length > OldHeaderSize && data.StartsWith(OldMagic))
        {
            uint oldCount = r.U32At(12, "nlibs");
            if ((ulong)(length - OldHeaderSize) / OldEntrySize < oldCount)
                ElfThrow.Invalid(path, 12, "nlibs", $"is {oldCount}: {oldCount} old-format entries do not fit in the file ({length} bytes)");
            long newAt = (OldHeaderSize + (long)oldCount * OldEntrySize + 7) & ~7L;
            if (length >= newAt + NewHeaderSize && data[(int)newAt..].StartsWith(NewMagic))
            {
                format = LdSoCacheFormat.Compat;
                header = (int)newAt;
            }
            else
            {
                format = LdSoCacheFormat.Old;
                header = 0;
            }
        }
        else
        {
            string what = length <= NewHeaderSize && (data.StartsWith(NewMagic) || data.StartsWith(OldMagic))
                ? $"is present but the file is too short ({length} bytes)"
                : $"is {Printable(data[..Math.Min(20, length)])}, expected \"glibc-ld.so.cache1.1\" or \"ld.so-1.7.0\"";
            ElfThrow.Invalid(path, 0, "magic", what);
            return null!;
        }

        RawEntry[] raw;
        string? generator = null;
        int[] hwcapsNameOffsets = [];
        string?[] hwcapsNames = [];
        if (format == LdSoCacheFormat.Old)
        {
            uint count = r.U32At(12, "nlibs");
            int strings = OldHeaderSize + (int)count * OldEntrySize;
            raw = new RawEntry[count];
            for (int i = 0; i < count; i++)
            {
                r.Position = OldHeaderSize + i * OldEntrySize;
                int flags = (int)r.U32("libs[].flags");
                uint key = r.U32("libs[].key"), value = r.U32("libs[].value");
                int ks = CheckString(ref r, lastNul, strings, key, i, "key");
                int vs = CheckString(ref r, lastNul, strings, value, i, "value");
                raw[i] = new RawEntry(flags, ks, vs, 0);
            }
        }
        else
        {
            r.Position = header + 20;
            uint count = r.U32("nlibs");
            r.U32("len_strings");
            byte endian = r.U8("flags");
            if ((endian & 3) == 1)
                ElfThrow.Invalid(path, header + 0x1c, "flags", "is 1: the endianness is marked invalid");
            if ((endian & 3) == 3)
                ElfThrow.Invalid(path, header + 0x1c, "flags", "is 3: the cache is big-endian, this host is little-endian");
            if ((ulong)(length - header - NewHeaderSize) / NewEntrySize < count)
                ElfThrow.Invalid(path, header + 20, "nlibs", $"is {count}: {count} entries of 24 bytes do not fit in the file ({length} bytes)");
            uint extensionOffset = r.U32At((ulong)header + 0x20, "extension_offset");

            ReadExtensions(ref r, extensionOffset, header, out generator, out int hwcapsAt, out int hwcapsCount);
            hwcapsNameOffsets = new int[hwcapsCount];
            hwcapsNames = new string?[hwcapsCount];
            for (int i = 0; i < hwcapsCount; i++)
            {
                uint off = r.U32At((ulong)(hwcapsAt + 4 * i), "glibc-hwcaps extension");
                // Display name: relative to the new header, as ldconfig wrote it.
                int ns = CheckString(ref r, lastNul, header, off, i, "glibc-hwcaps name", "glibc-hwcaps extension");
                hwcapsNames[i] = Encoding.UTF8.GetString(CStringAt(data, ns));
                // What glibc's glibc_hwcaps_compare reads: relative to the file start.
                hwcapsNameOffsets[i] = off < (uint)length && data[(int)off..].IndexOf((byte)0) >= 0 ? (int)off : -1;
            }

            raw = new RawEntry[count];
            for (int i = 0; i < count; i++)
            {
                r.Position = header + NewHeaderSize + i * NewEntrySize;
                int flags = (int)r.U32("libs[].flags");
                uint key = r.U32("libs[].key"), value = r.U32("libs[].value");
                r.U32("libs[].osversion");
                ulong hwcap = r.U64("libs[].hwcap");
                int ks = CheckString(ref r, lastNul, header, key, i, "key");
                int vs = CheckString(ref r, lastNul, header, value, i, "value");
                raw[i] = new RawEntry(flags, ks, vs, hwcap);
            }
        }

        return new LdSoCache
        {
            Path = path,
            Format = format,
            Generator = generator,
            _data = owned,
            _raw = raw,
            _hwcapsNameOffsets = hwcapsNameOffsets,
            _hwcapsNames = hwcapsNames,
        };
    }

    /// <summary>Loads with one read. Null when the file is absent, unreadable or corrupt: ld.so then simply
    /// uses no cache.</summary>
    public static LdSoCache? TryLoad(string path)
    {
        // Raw open/fstat/pread: the BCL's handle adds an advisory lock, a second fstat and an lseek per file.
        int fd = Interop.Libc.OpenReadOnly(path);
        if (fd < 0) return null;
        try
        {
            return Interop.Libc.FStat(fd, out var st) == 0 ? TryLoad(fd, st, path) : null;
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }

    /// <summary><see cref="TryLoad(string)"/> from a descriptor the caller opened and fstat'ed (and closes).</summary>
    internal static LdSoCache? TryLoad(int fd, in Interop.Libc.StatBuffer st, string path)
    {
        if ((st.Mode & Interop.Libc.S_IFMT) != Interop.Libc.S_IFREG || st.Size > int.MaxValue / 2) return null;
        try
        {
            var buffer = new byte[st.Size];
            long ignored = 0;
            int n = ElfObjectReader.PRead(fd, buffer, 0, ref ignored, path);
            return ParseOwned(n == buffer.Length ? buffer : buffer.AsSpan(0, n).ToArray(), path);
        }
        catch (Exception e) when (e is IOException or ElfFormatException)
        {
            return null;
        }
    }

    /// <summary>glibc's lookup: the equal-key run in cache order; named hwcaps entries usable when
    /// <c>(1 &lt;&lt; IsaLevel) &amp; isaLevelMask</c> and their subdir is in <paramref name="activeHwcapsSubdirs"/>
    /// (best = earliest in that list); legacy non-zero hwcap entries filtered as glibc 2.36 does for this CPU
    /// (<see cref="LegacyHwcapFilter.Current"/>); hwcaps entries ignored in Compat files. Returns the value path
    /// or null.</summary>
    /// <param name="isaLevelMask">glibc's <c>cpu_features-&gt;isa_1</c>: GNU_PROPERTY_X86_ISA_1_* bits
    /// (0x1 baseline, 0x2 v2, 0x4 v3, 0x8 v4); 0xf on a v4 CPU. Compatibility test as glibc's
    /// <c>dl_cache_hwcap_isa_level_compatible</c>.</param>
    /// <param name="activeHwcapsSubdirs">Active subdirs in priority order, e.g. x86-64-v4, x86-64-v3, x86-64-v2.</param>
    public string? Lookup(string name, uint isaLevelMask, IReadOnlyList<string> activeHwcapsSubdirs, int flags = DefaultX8664Flags)
        => Lookup(name, isaLevelMask, activeHwcapsSubdirs, LegacyHwcapFilter.Current, flags);

    /// <summary><see cref="Lookup(string, uint, IReadOnlyList{string}, int)"/> with an explicit legacy-hwcap
    /// filter (for tests and for emulating another CPU).</summary>
    public string? Lookup(string name, uint isaLevelMask, IReadOnlyList<string> activeHwcapsSubdirs, LegacyHwcapFilter legacy, int flags = DefaultX8664Flags)
    {
        int i = FindIndex(name, isaLevelMask, activeHwcapsSubdirs, legacy, flags);
        return i < 0 ? null : Encoding.UTF8.GetString(CStringAt(_data, _raw[i].ValueStart));
    }

    /// <summary>glibc 2.36 <c>search_cache</c>; returns the entry index or -1.</summary>
    private int FindIndex(string name, uint isaLevelMask, IReadOnlyList<string> active, LegacyHwcapFilter legacy, int wantFlags)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(name.Length);
        Span<byte> nameBytes = maxBytes <= 512 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        nameBytes = nameBytes[..Encoding.UTF8.GetBytes(name, nameBytes)];
        int nul = nameBytes.IndexOf((byte)0);
        if (nul >= 0) nameBytes = nameBytes[..nul];

        bool newEntries = Format != LdSoCacheFormat.Old;
        int left = 0, right = _raw.Length - 1;
        int best = -1;
        uint bestPriority = 0;
        while (left <= right)
        {
            int middle = (left + right) / 2;
            int cmp = CacheLibCmp.Compare(nameBytes, Key(middle));
            if (cmp == 0)
            {
                left = middle;
                while (middle > 0 && CacheLibCmp.Compare(nameBytes, Key(middle - 1)) == 0) --middle;
                do
                {
                    if (middle > left && CacheLibCmp.Compare(nameBytes, Key(middle)) != 0) break;
                    var lib = _raw[middle];
                    if (lib.Flags != wantFlags) continue;
                    bool named = false;
                    if (newEntries)
                    {
                        named = IsNamedHwcap(lib.HwCap);
                        if (named)
                        {
                            uint level = 1u << (int)((lib.HwCap >> 32) & IsaLevelMask); // C shift: count mod 32
                            if ((level & isaLevelMask) != level) continue;
                        }
                        // Named entries sort first: at the first normal one, a named match found so far wins.
                        if (!named && best >= 0) break;
                        if (!named && lib.HwCap != 0 && !legacy.Accepts(lib.HwCap)) continue;
                        if (named)
                        {
                            uint priority = HwcapsPriority((uint)lib.HwCap, active);
                            if (priority == 0) continue;
                            if (best >= 0 && priority >= bestPriority) continue;
                            bestPriority = priority;
                        }
                    }
                    best = middle;
                    if (!named) break; // flags are exact, so no better normal entry follows
                }
                while (++middle <= right);
                break;
            }
            if (cmp < 0) left = middle + 1;
            else right = middle - 1;
        }
        return best;
    }

    private ReadOnlySpan<byte> Key(int index) => CStringAt(_data, _raw[index].KeyStart);

    /// <summary>The NUL-terminated string at a start offset <see cref="CheckString"/> accepted.</summary>
    private static ReadOnlySpan<byte> CStringAt(ReadOnlySpan<byte> data, int start)
    {
        var rest = data[start..];
        return rest[..rest.IndexOf((byte)0)];
    }

    private static bool IsNamedHwcap(ulong hwcap) => ((hwcap >> 32) & ~(ulong)IsaLevelMask) == HwcapExtension >> 32;

    /// <summary>glibc's <c>glibc_hwcaps_priority</c>: the cache's (strcmp-sorted) subdir names merged with the
    /// active subdirs sorted by name; priority = 1 + position in the active list, 0 = not usable.</summary>
    private uint HwcapsPriority(uint index, IReadOnlyList<string> active)
    {
        var memo = _priorityMemo;
        if (memo == null || !ReferenceEquals(memo.Active, active))
            _priorityMemo = memo = new PriorityMemo(active, ComputePriorities(active));
        return index < memo.Priorities.Length ? memo.Priorities[index] : 0;
    }

    private uint[] ComputePriorities(IReadOnlyList<string> active)
    {
        // Compat files: ld.so reads the names relative to the file start although ldconfig wrote them relative
        // to the new header, so they never match (measured: compat caches give the base library).
        var result = new uint[_hwcapsNameOffsets.Length];
        if (Format == LdSoCacheFormat.Compat) return result;
        var right = new (byte[] Name, uint Priority)[active.Count];
        for (int i = 0; i < active.Count; i++) right[i] = (Encoding.UTF8.GetBytes(active[i]), (uint)i + 1);
        Array.Sort(right, (a, b) => a.Name.AsSpan().SequenceCompareTo(b.Name));
        int l = 0, rr = 0;
        while (l < result.Length && rr < right.Length)
        {
            int off = _hwcapsNameOffsets[l];
            if (off < 0) { result[l++] = 0; continue; }
            var leftName = _data.AsSpan(off);
            leftName = leftName[..leftName.IndexOf((byte)0)];
            int cmp = leftName.SequenceCompareTo(right[rr].Name);
            if (cmp == 0) result[l++] = right[rr++].Priority;
            else if (cmp < 0) result[l++] = 0;
            else rr++;
        }
        return result;
    }

    private static void ReadExtensions(ref EndianReader r, uint offset, int header, out string? generator, out int hwcapsAt, out int hwcapsCount)
    {
        generator = null;
        hwcapsAt = 0;
        hwcapsCount = 0;
        if (offset == 0) return;
        string path = r.Path;
        if (offset % 4 != 0)
            ElfThrow.Invalid(path, header + 0x20, "extension_offset", $"is 0x{offset:x}, not a multiple of 4");
        if ((ulong)offset + 8 > (ulong)r.Length)
            ElfThrow.Invalid(path, header + 0x20, "extension_offset", $"is 0x{offset:x}, beyond the end of the file ({r.Length} bytes)");
        uint magic = r.U32At(offset, "extension magic");
        if (magic != ExtensionMagic)
            ElfThrow.Invalid(path, offset, "extension magic", $"is 0x{magic:x8}, expected 0x{ExtensionMagic:x8}");
        uint count = r.U32At((ulong)offset + 4, "extension count");
        if ((ulong)count * 16 > (ulong)r.Length - offset - 8)
            ElfThrow.Invalid(path, offset + 4, "extension count", $"is {count}: the section table runs past the end of the file");
        for (uint i = 0; i < count; i++)
        {
            ulong at = (ulong)offset + 8 + 16 * i;
            uint tag = r.U32At(at, "extension section tag");
            uint secOffset = r.U32At(at + 8, "extension section offset"), size = r.U32At(at + 12, "extension section size");
            if ((ulong)secOffset + size > (ulong)r.Length)
                ElfThrow.Invalid(path, (long)at + 8, "extension section offset", $"0x{secOffset:x} + size 0x{size:x} runs past the end of the file ({r.Length} bytes)");
            if (tag == 0) generator = Encoding.UTF8.GetString(r.Slice(secOffset, size, "generator"));
            else if (tag == 1) { hwcapsAt = (int)secOffset; hwcapsCount = (int)(size / 4); }
        }
    }

    /// <summary>Checks that the string at <paramref name="stringBase"/> + <paramref name="offset"/> lies in the
    /// file and is NUL-terminated; returns its start. A string starting at or before the file's last NUL is
    /// terminated, so no string is scanned here; the field name is formatted only for the error.</summary>
    private static int CheckString(ref EndianReader r, int lastNul, int stringBase, uint offset, int index, string field, string? fieldName = null)
    {
        ulong at = (ulong)stringBase + offset;
        if (at >= (ulong)r.Length)
            ElfThrow.Invalid(r.Path, Math.Min((long)at, r.Length), fieldName ?? $"libs[{index}].{field}", $"string offset 0x{offset:x} (+0x{stringBase:x}) is outside the file ({r.Length} bytes)");
        if ((long)at > lastNul) r.CString(at, (ulong)r.Length, fieldName ?? $"libs[{index}].{field}", "the file"); // throws: unterminated
        return (int)at;
    }

    private LdSoCacheEntry[] DecodeEntries()
    {
        var entries = new LdSoCacheEntry[_raw.Length];
        bool newEntries = Format != LdSoCacheFormat.Old;
        for (int i = 0; i < entries.Length; i++)
        {
            var e = _raw[i];
            string key = Encoding.UTF8.GetString(CStringAt(_data, e.KeyStart));
            string value = Encoding.UTF8.GetString(CStringAt(_data, e.ValueStart));
            string? subdir = null;
            int isa = 0;
            if (newEntries && IsNamedHwcap(e.HwCap))
            {
                isa = (int)((e.HwCap >> 32) & IsaLevelMask);
                uint index = (uint)e.HwCap;
                subdir = index < _hwcapsNames.Length ? _hwcapsNames[index] : null;
            }
            entries[i] = new LdSoCacheEntry(e.Flags, key, value, e.HwCap, subdir, isa);
        }
        return entries;
    }

    private static string Printable(ReadOnlySpan<byte> s)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in s) sb.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        return sb.Append('"').ToString();
    }
}
