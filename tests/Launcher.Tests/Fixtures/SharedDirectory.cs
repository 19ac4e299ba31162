namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// A fresh directory every user can traverse, under /var/lib/confine-exec-tests (not /tmp or /run: tests
/// assert nothing new appears there), removed on dispose.
/// </summary>
public sealed class SharedDirectory : IDisposable
{
    public const string Base = "/var/lib/confine-exec-tests";
    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public string Path { get; }

    public SharedDirectory()
    {
        Directory.CreateDirectory(Base, Mode0755);
        File.SetUnixFileMode(Base, Mode0755);
        Path = System.IO.Path.Combine(Base, System.IO.Path.GetRandomFileName());
        Directory.CreateDirectory(Path, Mode0755);
        File.SetUnixFileMode(Path, Mode0755);
    }

    /// <summary>A subdirectory with the given mode (e.g. 0777 so uid 65534 can write results into it).</summary>
    public string Subdirectory(string name, UnixFileMode mode = Mode0755)
    {
        string dir = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, mode);
        return dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException)
        {
            // A name that is not UTF-8 (the hostile-input tests make one) cannot be spelled as a .NET string, so
            // Directory.Delete misses it; rm takes the bytes as they are.
            ProcessRunner.Run(["rm", "-rf", "--", Path]);
        }
        try { if (!Directory.EnumerateFileSystemEntries(Base).Any()) Directory.Delete(Base); }
        catch (IOException) { }
    }
}
