namespace ConfineExec.Elf;

/// <summary>What to compute a closure for. The environment is the <em>target's</em> (the service's), not ours.</summary>
public sealed class ClosureRequest
{
    /// <summary>PROGRAM as the user gave it: absolute, relative (contains '/'), or a bare name looked up in PATH.</summary>
    public required string Program { get; init; }

    /// <summary>The environment PROGRAM will run with (PATH, LD_LIBRARY_PATH, LD_PRELOAD are read from it).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The directory PROGRAM starts in inside the root; empty and relative search-path elements are
    /// relative to it (as glibc resolves them against the process CWD). Defaults to "/".</summary>
    public string WorkingDirectory { get; init; } = "/";

    /// <summary>The program bound at <c>/bin/sh</c> (resolved, with its closure), or null for none.</summary>
    public string? BinSh { get; init; } = "/bin/sh";

    /// <summary>Extra paths (<c>--package</c>): each file or directory plus the closure of every ELF object or
    /// script it is or contains; symlinks inside pointing outside bring their targets, transitively.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Report missing DT_NEEDED libraries as warnings instead of failing.</summary>
    public bool AllowMissing { get; init; }
}
