using System.Globalization;
using System.Text;
using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// The text naming one memoized scan: everything <see cref="ClosureBuilder.Build"/> depends on that is not a
/// file-system observation — the cache format, the build of the code doing the scan, the caller's credentials
/// (real and effective ids, groups, effective capabilities: access(2) and open(2) answers depend on them), our working directory, every request field, the CPU facts
/// the search uses and the target's PATH, LD_LIBRARY_PATH and LD_PRELOAD. One field per line as
/// <c>name length value</c>, so no value can pass for another field.
/// </summary>
internal static class ClosureCacheKey
{
    /// <summary>The key, or null when the credentials cannot be read (nothing is cached then).</summary>
    public static string? For(ClosureRequest request, string buildIdentity, string cwd, uint euid)
    {
        if (Groups() is not { } groups || Libc.EffectiveCapabilities() is not { } caps) return null;
        var sb = new StringBuilder(512);
        Field(sb, "format", ClosureCache.FormatVersion.ToString(CultureInfo.InvariantCulture));
        Field(sb, "build", buildIdentity);
        // access(2) checks the real ids, open(2) the effective ones and the capabilities (a root without
        // CAP_DAC_OVERRIDE may share /var/cache/confine-exec with a full root).
        Field(sb, "uid", Libc.getuid().ToString(CultureInfo.InvariantCulture));
        Field(sb, "gid", Libc.getgid().ToString(CultureInfo.InvariantCulture));
        Field(sb, "euid", euid.ToString(CultureInfo.InvariantCulture));
        Field(sb, "egid", Libc.getegid().ToString(CultureInfo.InvariantCulture));
        Field(sb, "cap-effective", caps.ToString("x", CultureInfo.InvariantCulture));
        Field(sb, "groups", groups);
        Field(sb, "cwd", cwd);
        Field(sb, "program", request.Program);
        Field(sb, "working-directory", request.WorkingDirectory);
        Field(sb, "bin-sh", request.BinSh);
        Field(sb, "packages", request.Packages.Count.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < request.Packages.Count; i++) Field(sb, "package", request.Packages[i]);
        Field(sb, "allow-missing", request.AllowMissing ? "1" : "0");
        var cpu = HwCaps.Current;
        Field(sb, "isa-levels", cpu.IsaLevelMask.ToString(CultureInfo.InvariantCulture));
        Field(sb, "platform", cpu.Platform);
        Field(sb, "legacy-hwcaps", string.Join(',', cpu.LegacyHwcapNames));
        foreach (string name in (ReadOnlySpan<string>)["PATH", "LD_LIBRARY_PATH", "LD_PRELOAD"])
            Field(sb, "env " + name, request.Environment.TryGetValue(name, out var v) ? v : null);
        return sb.ToString();
    }

    /// <summary><c>name length value</c>, or <c>name -</c> for an absent value.</summary>
    private static void Field(StringBuilder sb, string name, string? value)
    {
        sb.Append(name);
        if (value is null) sb.Append(" -\n");
        else sb.Append(' ').Append(value.Length).Append(' ').Append(value).Append('\n');
    }

    /// <summary>The supplementary groups, sorted (their order decides nothing).</summary>
    private static string? Groups()
    {
        Span<uint> groups = stackalloc uint[64];
        int n = Libc.GetGroups(groups);
        if (n < 0)
        {
            int size = Libc.GetGroups([]);
            if (size < 0) return null;
            groups = new uint[size];
            n = Libc.GetGroups(groups);
            if (n < 0) return null;
        }
        groups = groups[..n];
        groups.Sort();
        var sb = new StringBuilder(n * 6);
        for (int i = 0; i < groups.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(groups[i]);
        }
        return sb.ToString();
    }
}
