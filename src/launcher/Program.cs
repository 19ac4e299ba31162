namespace ConfineExec.Launcher;

public static class Program
{
    public static int Main(string[] args) => CommandLine.Cli.Run(args, Console.Out, Console.Error);
}
