using System.Runtime.InteropServices;
using ConfineExec.Launcher.Interop;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// Forwards signals sent to the supervisor to PROGRAM. Uses the runtime's own PosixSignalRegistration (its
/// signal thread owns the process-wide handlers; a sigprocmask/signalfd scheme would race it). Registered
/// before the fork; signals that arrive before the child's pid is known are forwarded once it is. A child that
/// shares this process's memory is known from the moment the kernel created it (its pid slot, written by
/// clone(CLONE_PARENT_SETTID) while the forking thread still sleeps), so it is reached during setup as a
/// forked child is.
/// </summary>
internal sealed unsafe class SignalForwarder : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _lock = new();
    private readonly List<int> _pending = [];
    private int _pid;
    private readonly int* _earlyPid;

    /// <param name="earlyPid">Native memory the kernel may fill with the child's pid before <see cref="Attach"/>
    /// (0 until then); it must outlive this object.</param>
    public SignalForwarder(int[] signals, int* earlyPid)
    {
        _earlyPid = earlyPid;
        foreach (int sig in signals)
            _registrations.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx => Forward(ctx, sig)));
    }

    private void Forward(PosixSignalContext context, int sig)
    {
        context.Cancel = true; // the runtime's default (e.g. shutdown on SIGTERM) must not run: PROGRAM decides
        lock (_lock)
        {
            int pid = _pid == 0 ? Volatile.Read(ref *_earlyPid) : _pid;
            if (pid > 0)
                Libc.Kill(pid, sig);
            else if (pid == 0)
                _pending.Add(sig);
        }
    }

    public void Attach(int pid)
    {
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
        lock (_lock)
            _pid = -1;
    }

    public void Dispose()
    {
        Detach();
        foreach (PosixSignalRegistration r in _registrations)
            r.Dispose();
        _registrations.Clear();
    }
}
