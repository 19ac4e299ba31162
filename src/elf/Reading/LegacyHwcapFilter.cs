using System.Runtime.Intrinsics.X86;

namespace ConfineExec.Elf;

/// <summary>
/// What glibc 2.36's <c>search_cache</c> needs to accept or skip a <em>legacy</em> hwcap cache entry (non-zero
/// hwcap that is not a glibc-hwcaps extension entry; ldconfig writes them for libraries in <c>tls/</c>,
/// <c>x86_64/</c>, <c>avx512_1/</c>, <c>haswell/</c>, <c>xeon_phi/</c> subdirectories).
/// </summary>
/// <remarks>
/// glibc 2.36 skips an entry when <c>hwcap &amp; ~((dl_hwcap &amp; hwcap_mask) | _DL_HWCAP_PLATFORM | 1&lt;&lt;63)</c>
/// is non-zero, or when its platform bits (48–51) are set and differ from <c>1 &lt;&lt; _dl_string_platform(dl_platform)</c>
/// (all ones when the platform is not one of i586/i686/haswell/xeon_phi — e.g. AT_PLATFORM "x86_64" on AMD —
/// so then every platform entry is skipped). glibc ≥ 2.37 skips all legacy entries; we emulate the
/// interpreter this machine has (2.36). <c>hwcap_mask</c> is the default HWCAP_IMPORTANT (GLIBC_TUNABLES
/// glibc.cpu.hwcap_mask is not read).
/// </remarks>
/// <param name="HwcapBits"><c>dl_hwcap &amp; hwcap_mask</c>: HWCAP_X86_64 (bit 1), plus HWCAP_X86_AVX512_1 (bit 2)
/// on Intel CPUs with usable AVX512CD/BW/DQ/VL.</param>
/// <param name="PlatformBit">1 &lt;&lt; (48 + platform index) for haswell (50) or xeon_phi (51), else all ones.</param>
public readonly record struct LegacyHwcapFilter(ulong HwcapBits, ulong PlatformBit)
{
    public const ulong HwcapX8664 = 1 << 1, HwcapAvx512_1 = 1 << 2;
    public const ulong PlatformMask = 0xfUL << 48, TlsBit = 1UL << 63;

    /// <summary>A non-Intel (or pre-Haswell Intel) x86-64 CPU: x86_64/ and tls/ entries accepted, platform ones not.</summary>
    public static LegacyHwcapFilter GenericX8664 => new(HwcapX8664, ulong.MaxValue);

    /// <summary>This CPU as glibc 2.36's <c>init_cpu_features</c> classifies it.</summary>
    public static LegacyHwcapFilter Current { get; } = Detect();

    /// <summary>True when glibc 2.36 would consider a legacy entry with this hwcap value.</summary>
    public bool Accepts(ulong hwcap)
    {
        ulong exclude = ~(HwcapBits | PlatformMask | TlsBit);
        if ((hwcap & exclude) != 0) return false;
        ulong platform = hwcap & PlatformMask;
        return platform == 0 || platform == PlatformBit;
    }

    private static LegacyHwcapFilter Detect()
    {
        if (!X86Base.IsSupported) return GenericX8664;
        var (_, b, c, d) = X86Base.CpuId(0, 0);
        bool intel = b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; // "GenuineIntel"
        if (!intel) return GenericX8664;
        ulong hwcap = HwcapX8664;
        ulong platform = ulong.MaxValue;
        if (Avx512CD.IsSupported)
        {
            var (_, ebx7, _, _) = X86Base.CpuId(7, 0);
            bool er = (ebx7 & (1 << 27)) != 0, pf = (ebx7 & (1 << 26)) != 0;
            if (er) { if (pf) platform = 1UL << 51; }
            else if (Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported) hwcap |= HwcapAvx512_1;
        }
        var (_, _, ecx1, _) = X86Base.CpuId(1, 0);
        bool movbe = (ecx1 & (1 << 22)) != 0;
        if (platform == ulong.MaxValue && Avx2.IsSupported && Fma.IsSupported && Bmi1.IsSupported && Bmi2.IsSupported
            && Lzcnt.IsSupported && movbe && Popcnt.IsSupported)
            platform = 1UL << 50;
        return new LegacyHwcapFilter(hwcap, platform);
    }
}
