using System.Runtime.InteropServices;
using ConfineExec.Launcher.Interop;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// Forwards signals sent to the supervisor to PROGRAM. Installed before the child starts; signals that arrive
/// before the child's pid is known are forwarded once it is. A child that shares this process's memory is known
/// from the moment the kernel created it (<see cref="PidSlot"/>, written by clone(CLONE_PARENT_SETTID) while the
/// forking thread still sleeps), so it is reached during setup as a forked child is.
/// </summary>
/// <remarks>
/// The published image forwards with a C handler linked into it (src/launcher/Native/signal-forwarder.c): no
/// managed code runs on a signal, so the runtime starts no signal thread or pipe for it, which was 0.34 ms of
/// every default launch. A JIT host (the test runner, where no such object exists) uses the runtime's
/// PosixSignalRegistration instead, whose signal thread owns the process-wide handlers there. Both skip a signal
/// the caller ignored, which PROGRAM then inherits ignored.
/// </remarks>
internal sealed unsafe class SignalForwarder : IDisposable
{
    private readonly bool _native;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _lock = new();
    private readonly List<int> _pending = [];
    private int _pid;

    public SignalForwarder(int[] signals)
    {
        _native = NativeStartup.Available;
        if (_native)
        {
            PidSlot = InstallNative(signals);
            return;
        }
        PidSlot = (int*)NativeMemory.AllocZeroed(sizeof(int));
        foreach (int sig in signals)
            _registrations.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx => Forward(ctx, sig)));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int* InstallNative(int[] signals)
    {
        int err;
        fixed (int* list = signals)
            err = NativeStartup.ForwardSignals(list, signals.Length);
        if (err != 0)
        {
            NativeStartup.ForwardStop();
            throw new SyscallException("sigaction", null, null, err);
        }
        return NativeStartup.ForwardPidSlot();
    }

    /// <summary>Native memory the kernel may fill with the child's pid before <see cref="Attach"/> (0 until then);
    /// valid until <see cref="Dispose"/>.</summary>
    public int* PidSlot { get; private set; }

    private void Forward(PosixSignalContext context, int sig)
    {
        context.Cancel = true; // the runtime's default (e.g. shutdown on SIGTERM) must not run: PROGRAM decides
        lock (_lock)
        {
            int pid = _pid == 0 ? Volatile.Read(ref *PidSlot) : _pid;
            if (pid > 0)
                Libc.Kill(pid, sig);
            else if (pid == 0)
                _pending.Add(sig);
        }
    }

    public void Attach(int pid)
    {
        if (_native)
        {
            NativeStartup.ForwardTo(pid);
            return;
        }
        lock (_lock)
        {
            _pid = pid;
            foreach (int sig in _pending)
                Libc.Kill(pid, sig);
            _pending.Clear();
        }
    }

    /// <summary>After the child is reaped its pid may be reused: stop forwarding.</summary>
    public void Detach()
    {
        if (_native)
        {
            NativeStartup.ForwardStop();
            return;
        }
        lock (_lock)
            _pid = -1;
    }

    public void Dispose()
    {
        Detach();
        foreach (PosixSignalRegistration r in _registrations)
            r.Dispose();
        _registrations.Clear();
        if (!_native && PidSlot != null)
            NativeMemory.Free(PidSlot);
        PidSlot = null;
    }
}
