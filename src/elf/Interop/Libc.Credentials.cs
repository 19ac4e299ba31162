using System.Runtime.InteropServices;

namespace ConfineExec.Elf.Interop;

/// <summary>The caller's effective credentials: what access(2) and open(2) decisions depend on, so part of the
/// closure cache's key, and who must own the cache.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    internal static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    internal static partial uint getegid();

    [LibraryImport("libc", EntryPoint = "getgroups", SetLastError = true)]
    internal static partial int getgroups(int size, uint* list);

    /// <summary>The supplementary group ids (as the kernel lists them), or an empty span when none.</summary>
    internal static int GetGroups(Span<uint> buffer)
    {
        fixed (uint* p = buffer)
        {
            int n = getgroups(buffer.Length, p);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }
}
