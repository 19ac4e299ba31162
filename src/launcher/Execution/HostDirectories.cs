using ConfineExec.Launcher.Interop;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Execution;

/// <summary>StateDirectory=/RuntimeDirectory= on the host, as systemd's setup_exec_directory: parents 0755, the
/// directory with its mode, owned by the service user; RemoveOnExit ones removed after PROGRAM exits.</summary>
internal static class HostDirectories
{
    internal static void Create(ReadOnlySpan<HostDirectory> directories)
    {
        for (int k = 0; k < directories.Length; k++)
        {
            HostDirectory d = directories[k];
            try
            {
                // mkdir -p with 0755 parents (umask is the caller's, as systemd's mkdir_parents), then the
                // directory's own mode and owner set explicitly.
                string path = "";
                string[] parts = d.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
                for (int i = 0; i < parts.Length; i++)
                {
                    path += "/" + parts[i];
                    Libc.Mkdir(path, i == parts.Length - 1 ? d.Mode : 0x1ed);
                }
                Libc.Chmod(d.Path, d.Mode);
                Libc.Chown(d.Path, d.Uid, d.Gid);
            }
            catch (SyscallException e)
            {
                throw new LaunchException($"create directory ({e.Syscall}): {e.Path}: {Libc.DescribeErrno(e.Errno)}");
            }
        }
    }

    internal static void RemoveOnExit(ReadOnlySpan<HostDirectory> directories)
    {
        for (int k = 0; k < directories.Length; k++)
        {
            HostDirectory d = directories[k];
            if (!d.RemoveOnExit)
                continue;
            try
            {
                Directory.Delete(d.Path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"confine-exec: remove directory: {d.Path}: {e.Message}");
            }
        }
    }
}
