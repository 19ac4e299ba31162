namespace ConfineExec.Launcher;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("confine-exec: not implemented yet");
        return ExitCodes.LauncherFailure;
    }
}
