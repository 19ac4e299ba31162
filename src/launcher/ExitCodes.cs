namespace ConfineExec.Launcher;

/// <summary>Documented exit codes (as env(1), chroot(1), systemd-nspawn).</summary>
public static class ExitCodes
{
    public const int LauncherFailure = 125;
    public const int NotExecutable = 126;
    public const int NotFound = 127;
}
