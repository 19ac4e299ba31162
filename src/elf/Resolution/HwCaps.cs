using System.Runtime.Intrinsics.X86;

namespace ConfineExec.Elf;

/// <summary>
/// What this CPU contributes to glibc's library search: the x86 ISA level (glibc's <c>get_isa_level</c>, giving
/// <c>cpu_features-&gt;isa_1</c>), the active <c>glibc-hwcaps/x86-64-v*</c> subdirectories, and for glibc
/// ≤ 2.36 the legacy <c>tls</c>/hwcap/platform power set (<c>_dl_important_hwcaps</c>, removed in 2.37).
/// </summary>
/// <remarks>
/// Feature bits come from CPUID; the OS-state part of AVX/AVX-512 usability (XCR0) is taken from the runtime's
/// own <c>Avx.IsSupported</c>/<c>Avx512F.IsSupported</c>, which check XGETBV the way glibc does.
/// <c>GLIBC_TUNABLES=glibc.cpu.hwcaps</c> masking is not modelled.
/// </remarks>
public sealed class HwCaps
{
    public const uint IsaBaseline = 0x1, IsaV2 = 0x2, IsaV3 = 0x4, IsaV4 = 0x8;

    /// <summary>GNU_PROPERTY_X86_ISA_1_* bits usable on this CPU (0x7 on a v3 machine, 0xf on v4).</summary>
    public uint IsaLevelMask { get; }

    /// <summary>Active glibc-hwcaps subdirs in priority order, e.g. <c>x86-64-v3</c>, <c>x86-64-v2</c>.</summary>
    public IReadOnlyList<string> ActiveSubdirs { get; }

    /// <summary><c>$PLATFORM</c> (AT_PLATFORM as glibc adjusts it): <c>x86_64</c>, or <c>haswell</c>/<c>xeon_phi</c> on Intel.</summary>
    public string Platform { get; }

    /// <summary>Legacy hwcap names (glibc 2.36 <c>HWCAP_IMPORTANT</c> bits set here, bit order).</summary>
    public IReadOnlyList<string> LegacyHwcapNames { get; }

    public static HwCaps Current { get; } = Detect();

    public HwCaps(uint isaLevelMask, string platform, IReadOnlyList<string> legacyHwcapNames)
    {
        IsaLevelMask = isaLevelMask;
        Platform = platform;
        LegacyHwcapNames = legacyHwcapNames;
        var active = new List<string>(3);
        if ((isaLevelMask & IsaV4) != 0) active.Add("x86-64-v4");
        if ((isaLevelMask & IsaV3) != 0) active.Add("x86-64-v3");
        if ((isaLevelMask & IsaV2) != 0) active.Add("x86-64-v2");
        ActiveSubdirs = active;
    }

    /// <summary>
    /// The subdirectory prefixes <c>open_path</c> tries in each search directory, in order, each ending in '/'
    /// except the final "" (the directory itself). Duplicates that glibc 2.36 tries twice are listed once: the
    /// second probe of the same path gives the same answer.
    /// </summary>
    public string[] SearchSubdirs(bool legacy)
    {
        var list = new List<string>();
        foreach (var s in ActiveSubdirs) list.Add("glibc-hwcaps/" + s + "/");
        if (legacy)
        {
            // Power set of [tls, hwcap names…, platform], largest subset first, the first component the most
            // significant: on an x86_64 CPU tls/x86_64/x86_64, tls/x86_64, tls, x86_64/x86_64, x86_64, "".
            var parts = new List<string>(LegacyHwcapNames.Count + 2) { "tls" };
            parts.AddRange(LegacyHwcapNames);
            parts.Add(Platform);
            int n = parts.Count;
            for (int mask = (1 << n) - 1; mask > 0; mask--)
            {
                var sb = new System.Text.StringBuilder();
                for (int i = 0; i < n; i++)
                    if ((mask & (1 << (n - 1 - i))) != 0) sb.Append(parts[i]).Append('/');
                var s = sb.ToString();
                if (!list.Contains(s)) list.Add(s);
            }
        }
        list.Add("");
        return list.ToArray();
    }

    private static HwCaps Detect()
    {
        if (!X86Base.IsSupported) return new HwCaps(IsaBaseline, "x86_64", ["x86_64"]);
        var (maxLeaf, vb, vc, vd) = X86Base.CpuId(0, 0);
        bool intel = vb == 0x756e6547 && vd == 0x49656e69 && vc == 0x6c65746e; // "GenuineIntel"
        var (_, _, ecx1, _) = X86Base.CpuId(1, 0);
        int ebx7 = maxLeaf >= 7 ? X86Base.CpuId(7, 0).Ebx : 0;
        var (maxExt, _, _, _) = X86Base.CpuId(unchecked((int)0x80000000), 0);
        int ecxExt = (uint)maxExt >= 0x80000001 ? X86Base.CpuId(unchecked((int)0x80000001), 0).Ecx : 0;

        static bool Bit(int reg, int bit) => (reg & (1 << bit)) != 0;
        bool osAvx = Avx.IsSupported;
        bool osAvx512 = Avx512F.IsSupported;

        bool sse3 = Bit(ecx1, 0), ssse3 = Bit(ecx1, 9), fma = Bit(ecx1, 12) && osAvx, cx16 = Bit(ecx1, 13);
        bool sse41 = Bit(ecx1, 19), sse42 = Bit(ecx1, 20), movbe = Bit(ecx1, 22), popcnt = Bit(ecx1, 23);
        bool avx = Bit(ecx1, 28) && osAvx, f16c = Bit(ecx1, 29) && osAvx;
        bool bmi1 = Bit(ebx7, 3), avx2 = Bit(ebx7, 5) && avx, bmi2 = Bit(ebx7, 8);
        bool avx512f = Bit(ebx7, 16) && osAvx512, avx512dq = Bit(ebx7, 17) && avx512f, avx512cd = Bit(ebx7, 28) && avx512f;
        bool avx512bw = Bit(ebx7, 30) && avx512f, avx512vl = Bit(ebx7, 31) && avx512f;
        bool lahf = Bit(ecxExt, 0), lzcnt = Bit(ecxExt, 5);

        uint isa = IsaBaseline;
        if (cx16 && lahf && popcnt && sse3 && ssse3 && sse41 && sse42)
        {
            isa |= IsaV2;
            if (avx && avx2 && bmi1 && bmi2 && f16c && fma && lzcnt && movbe)
            {
                isa |= IsaV3;
                if (avx512f && avx512bw && avx512cd && avx512dq && avx512vl) isa |= IsaV4;
            }
        }

        // glibc 2.36 sysdeps/x86/cpu-features.c: only Intel CPUs get a non-default platform and avx512_1.
        string platform = "x86_64";
        var names = new List<string> { "x86_64" };
        if (intel)
        {
            string? p = null;
            if (avx512cd)
            {
                bool er = Bit(ebx7, 27) && avx512f, pf = Bit(ebx7, 26) && avx512f;
                if (er && pf) p = "xeon_phi";
                else if (avx512bw && avx512dq && avx512vl) names.Add("avx512_1");
            }
            if (p is null && avx2 && bmi1 && bmi2 && lzcnt && movbe && popcnt) p = "haswell";
            if (p is not null) platform = p;
        }
        return new HwCaps(isa, platform, names);
    }
}
