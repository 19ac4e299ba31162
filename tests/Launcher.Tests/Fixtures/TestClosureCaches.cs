namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// A fresh closure-cache directory for every process the tests start (CONFINE_EXEC_CACHE_DIR): the suite never
/// writes /var/cache or a home directory, every run of the binary exercises the cache's store path (as root and
/// as 65534), and no test is ever served a closure an earlier one stored. The directories live under one root in
/// <see cref="SharedDirectory.Base"/>, mode 1777 so that uid 65534 creates its own; the root is removed when
/// the test process exits. Tests of the cache itself choose the variable explicitly.
/// </summary>
public static class TestClosureCaches
{
    public const string Variable = ConfineExec.Launcher.CommandLine.ClosureCacheLocation.Variable;

    private static readonly Lazy<string> s_root = new(CreateRoot);
    private static int s_next;

    /// <summary>A path that does not exist yet, for one run.</summary>
    public static string NextDirectory() => Path.Combine(s_root.Value, "run-" + Interlocked.Increment(ref s_next));

    /// <summary>Sets <see cref="Variable"/> to a fresh directory unless the caller has set it.</summary>
    public static void Apply(IDictionary<string, string?> environment)
    {
        if (!environment.ContainsKey(Variable)) environment[Variable] = NextDirectory();
    }

    private static string CreateRoot()
    {
        Directory.CreateDirectory(SharedDirectory.Base);
        File.SetUnixFileMode(SharedDirectory.Base, (UnixFileMode)0x1ed);
        string root = Path.Combine(SharedDirectory.Base, $"closure-caches-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0x3ff); // 1777
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            try { if (!Directory.EnumerateFileSystemEntries(SharedDirectory.Base).Any()) Directory.Delete(SharedDirectory.Base); }
            catch (IOException) { }
        };
        return root;
    }
}
