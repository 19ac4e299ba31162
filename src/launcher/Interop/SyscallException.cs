namespace ConfineExec.Launcher.Interop;

/// <summary>The one exception type every Libc wrapper throws: the syscall, the path(s) it was given and the
/// errno, rendered as <c>mount(/usr → /newroot/usr): EPERM (Operation not permitted)</c>.</summary>
internal sealed class SyscallException(string syscall, string? path, string? path2, int errno)
    : Exception(Format(syscall, path, path2, errno))
{
    public string Syscall { get; } = syscall;
    public string? Path { get; } = path;
    public string? Path2 { get; } = path2;
    public int Errno { get; } = errno;

    private static string Format(string syscall, string? path, string? path2, int errno)
    {
        string args = path is null ? "" : path2 is null ? path : $"{path} → {path2}";
        return $"{syscall}({args}): {Libc.DescribeErrno(errno)}";
    }
}
