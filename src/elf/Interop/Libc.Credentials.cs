using System.Runtime.InteropServices;

namespace ConfineExec.Elf.Interop;

/// <summary>The caller's credentials: what access(2) (real ids) and open(2) (effective ids, capabilities) decisions
/// depend on, so part of the closure cache's key, and who must own the cache.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    internal static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    internal static partial uint getegid();

    [LibraryImport("libc", EntryPoint = "getuid")]
    internal static partial uint getuid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    internal static partial uint getgid();

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static partial int capget(uint* header, uint* data);

    /// <summary>The effective capability set (capget(2), version 3: two 32-bit words), or null when unreadable.
    /// A root without CAP_DAC_OVERRIDE sees other open(2) answers than a full root.</summary>
    internal static ulong? EffectiveCapabilities()
    {
        uint* header = stackalloc uint[2];
        uint* data = stackalloc uint[6];
        header[0] = 0x20080522; // _LINUX_CAPABILITY_VERSION_3
        header[1] = 0;
        if (capget(header, data) < 0) return null;
        return data[0] | ((ulong)data[3] << 32);
    }

    [LibraryImport("libc", EntryPoint = "getgroups", SetLastError = true)]
    internal static partial int getgroups(int size, uint* list);

    /// <summary>Fills <paramref name="buffer"/> with the supplementary group ids (as the kernel lists them);
    /// returns their count, or -errno (EINVAL: the buffer is too small; an empty buffer asks for the count).</summary>
    internal static int GetGroups(Span<uint> buffer)
    {
        fixed (uint* p = buffer)
        {
            int n = getgroups(buffer.Length, p);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }
}
