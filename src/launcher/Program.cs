namespace ConfineExec.Launcher;

public static class Program
{
    public static int Main(string[] args)
    {
        // One buffered stdout: --print-closure writes a line per path, and Console.Out issues a write(2) per
        // line. Cli flushes before it executes a plan; EPIPE is ignored as Console.Out ignores it.
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 16384);
        int code = CommandLine.Cli.Run(args, stdout, Console.Error);
        stdout.Flush();
        return code;
    }
}
