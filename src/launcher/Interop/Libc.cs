using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

/// <summary>
/// Raw Linux bindings, one file per syscall family (Libc.Mount.cs, Libc.Fs.cs, …). C names for raw calls,
/// PascalCase wrappers beside them that throw <see cref="SyscallException"/>.
/// </summary>
/// <remarks>
/// Two kinds of import live here. The parent (a normal multi-threaded .NET process) uses ordinary
/// <c>SetLastError = true</c> imports. The child (forked, or sharing the parent's memory) may run no runtime code at all (no GC transition, no
/// lazy binding, no thread-static errno bookkeeping), so it calls only <see cref="syscall"/> and
/// <see cref="__errno_location"/>, both <c>[SuppressGCTransition]</c> and without SetLastError (the generated
/// SetLastError shim writes a managed thread-static, which is exactly what the child must not touch). The
/// parent binds both once before starting the child (<see cref="BindChildEntryPoints"/>) so a JIT host (the test runner)
/// has resolved them; native AOT binds them statically (DirectPInvoke).
/// Syscall numbers are x86-64 (the only RuntimeIdentifier this project publishes).
/// </remarks>
internal static unsafe partial class Libc
{
    internal const string Name = "libc";

    /// <summary>glibc's syscall(3): returns -1 and sets errno on failure. glibc implements it in assembly
    /// that only moves registers, so calling it with six fixed long arguments is well defined.</summary>
    [LibraryImport(Name)]
    [SuppressGCTransition]
    internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport(Name)]
    [SuppressGCTransition]
    internal static partial int* __errno_location();

    /// <summary>Resolves the child's two entry points in the parent (harmless calls) before any fork.</summary>
    internal static void BindChildEntryPoints()
    {
        _ = syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
        _ = __errno_location();
    }

    internal const long SYS_getpid = 39;
}
