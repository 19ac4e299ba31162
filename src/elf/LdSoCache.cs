namespace ConfineExec.Elf;

public enum LdSoCacheFormat { Old, New, Compat }

/// <param name="Flags">Entry flags (x86-64 ld.so accepts only 0x0303).</param>
/// <param name="HwCap">Raw hwcap field (new format; 0 for old-format entries).</param>
/// <param name="HwCapsSubdir">For named glibc-hwcaps entries, the subdir name (e.g. <c>x86-64-v3</c>); else null.</param>
/// <param name="IsaLevel">For named hwcaps entries, the ISA level stored in bits 32–41; else 0.</param>
public sealed record LdSoCacheEntry(int Flags, string Key, string Value, ulong HwCap, string? HwCapsSubdir, int IsaLevel);

/// <summary>
/// <c>/etc/ld.so.cache</c> parsed directly (old <c>ld.so-1.7.0</c>, new <c>glibc-ld.so.cache1.1</c> and the
/// combined format), answering lookups exactly as glibc's <c>_dl_load_cache_lookup</c> does.
/// </summary>
public sealed class LdSoCache
{
    public const int DefaultX8664Flags = 0x0303;

    public required string Path { get; init; }
    public required LdSoCacheFormat Format { get; init; }
    /// <summary>Entries in file order (all flags; lookups filter).</summary>
    public required IReadOnlyList<LdSoCacheEntry> Entries { get; init; }
    /// <summary>The generator extension string (ldconfig version), or null.</summary>
    public string? Generator { get; init; }

    /// <summary>Parses; throws <see cref="ElfFormatException"/> on a corrupt file.</summary>
    public static LdSoCache Parse(ReadOnlySpan<byte> data, string path) => throw new NotImplementedException();

    /// <summary>Loads with one read. Null when the file is absent, unreadable or corrupt: ld.so then simply
    /// uses no cache.</summary>
    public static LdSoCache? TryLoad(string path) => throw new NotImplementedException();

    /// <summary>glibc's lookup: the equal-key run in cache order; named hwcaps entries usable when
    /// <c>(1 &lt;&lt; IsaLevel) &amp; isaLevelMask</c> and their subdir is in <paramref name="activeHwcapsSubdirs"/>
    /// (best = earliest in that list); legacy non-zero hwcap entries skipped; hwcaps entries ignored in Compat
    /// files. Returns the value path or null.</summary>
    /// <param name="isaLevelMask">glibc's <c>cpu_features-&gt;isa_1</c>: GNU_PROPERTY_X86_ISA_1_* bits
    /// (0x1 baseline, 0x2 v2, 0x4 v3, 0x8 v4); 0xf on a v4 CPU. Compatibility test as glibc's
    /// <c>dl_cache_hwcap_isa_level_compatible</c>.</param>
    /// <param name="activeHwcapsSubdirs">Active subdirs in priority order, e.g. x86-64-v4, x86-64-v3, x86-64-v2.</param>
    public string? Lookup(string name, uint isaLevelMask, IReadOnlyList<string> activeHwcapsSubdirs, int flags = DefaultX8664Flags)
        => throw new NotImplementedException();
}
