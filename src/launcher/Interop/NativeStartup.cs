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

    /// <summary>Whether they are linked in: the first call binds, and only the published image has them (a JIT
    /// host with the AOT feature switches set cannot be told apart by RuntimeFeature).</summary>
    internal static bool Available => s_available ??= Probe();

    private static bool? s_available;

    private static bool Probe()
    {
        try
        {
            return ForwardPidSlot() != null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>runtime-threads.c: up to <paramref name="max"/> kernel thread ids of the threads the runtime has
    /// started and that have not returned; the count.</summary>
    [LibraryImport(Name, EntryPoint = "confine_exec_runtime_threads")]
    internal static partial int RuntimeThreads(int* tids, int max);

    /// <summary>signal-forwarder.c: where the child's pid is kept (the memory-sharing clone writes it there).</summary>
    // No [SuppressGCTransition] here: such a call is bound when its caller is compiled, so a JIT host would throw
    // before Probe's catch could see it.
    [LibraryImport(Name, EntryPoint = "confine_exec_forward_pid_slot")]
    internal static partial int* ForwardPidSlot();

    /// <summary>signal-forwarder.c: installs the C forwarding handler for each signal not ignored; 0 or an errno.</summary>
    [LibraryImport(Name, EntryPoint = "confine_exec_forward_signals")]
    internal static partial int ForwardSignals(int* signals, int count);

    /// <summary>signal-forwarder.c: the child's pid; sends the signals that arrived before it was known.</summary>
    [LibraryImport(Name, EntryPoint = "confine_exec_forward_to")]
    internal static partial void ForwardTo(int pid);

    /// <summary>signal-forwarder.c: forwards nothing more and restores each signal's default action.</summary>
    [LibraryImport(Name, EntryPoint = "confine_exec_forward_stop")]
    internal static partial void ForwardStop();
}
