using System.Text;

namespace ConfineExec.Launcher;

public static class Program
{
    private const int Epipe = 32;

    public static int Main(string[] args)
    {
        Diagnostics.LaunchPhases.Mark(Diagnostics.LaunchPhase.Main);
        // Plain writers over fds 1 and 2, not System.Console: Console's first use sets up terminal and signal
        // handling (a thread, a pipe, ioctls: measured 0.2 M instructions and 28 syscalls per start), and
        // Console.Out issues a write(2) per line. Cli flushes stdout before it executes a plan.
        var encoding = new UTF8Encoding(false);
        // Both created on the first write: a launch that succeeds writes nothing. 16 Ki chars keeps its buffers (32 KiB,
        // 48 KiB) on the small-object heap; 64 Ki made them two large-object allocations, a region committed each.
        var stdout = new Output.LazyWriter(() => new StreamWriter(new Output.DescriptorStream(1), encoding, 16384), encoding);
        var stderr = new Output.LazyWriter(() => new StreamWriter(new Output.DescriptorStream(2), encoding, 1024) { AutoFlush = true }, encoding);
        int code = CommandLine.Cli.Run(args, stdout, stderr);
        try
        {
            stdout.Flush();
        }
        catch (IOException e) when (e.HResult == Epipe)
        {
            // The reader went away: like Console.Out, drop the output.
        }
        catch (IOException e)
        {
            stderr.WriteLine($"confine-exec: write: stdout: {e.Message}");
            return ExitCodes.LauncherFailure;
        }
        return code;
    }
}
