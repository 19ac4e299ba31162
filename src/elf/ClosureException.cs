namespace ConfineExec.Elf;

public enum ClosureError
{
    /// <summary>PROGRAM does not exist / not found in PATH (exit 127).</summary>
    ProgramNotFound,
    /// <summary>PROGRAM exists but cannot be executed: a directory, no x bit, not ELF nor #! (exit 126).</summary>
    ProgramNotExecutable,
    /// <summary>A DT_NEEDED library cannot be found (exit 125).</summary>
    MissingLibrary,
    /// <summary>A shebang chain that loops or nests deeper than the kernel allows (exit 125).</summary>
    ShebangTooDeep,
    /// <summary>Symlink loop or other unresolvable path in the closure (exit 125).</summary>
    UnresolvablePath,
}

/// <summary>A closure that cannot be computed. The message is one line: <c>&lt;what&gt;: &lt;path&gt;: &lt;reason&gt;</c>.</summary>
public sealed class ClosureException(ClosureError error, string path, string message) : Exception(message)
{
    public ClosureError Error { get; } = error;
    public string FilePath { get; } = path;
}
