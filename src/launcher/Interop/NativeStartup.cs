using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

/// <summary>
/// The C objects linked into the image ahead of the .NET runtime (src/launcher/Native, build/NativeStartup.targets),
/// bound statically (DirectPInvoke "confine-exec-native"). They exist only in the published image: a JIT host
/// (the test runner) has no such library, and callers check <see cref="Available"/> first.
/// </summary>
internal static unsafe partial class NativeStartup
{
    private const string Name = "confine-exec-native";

    /// <summary>Whether this is the native-AOT image that links them.</summary>
    internal static bool Available => !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>runtime-threads.c: up to <paramref name="max"/> kernel thread ids of the threads the runtime has
    /// started and that have not returned; the count.</summary>
    [LibraryImport(Name, EntryPoint = "confine_exec_runtime_threads")]
    [SuppressGCTransition]
    internal static partial int RuntimeThreads(int* tids, int max);
}
