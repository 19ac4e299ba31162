namespace ConfineExec.Elf;

/// <summary>The computed runtime closure of a program: what the confined root must hold.</summary>
public sealed class Closure
{
    /// <summary>The program's absolute host path as found (PATH lookup done, symlinks NOT resolved): the path
    /// exec'd inside the root.</summary>
    public required string ProgramPath { get; init; }

    /// <summary>Every path, sorted by ordinal comparison of <see cref="ClosureEntry.Path"/>, each once.
    /// Parents of a path are not listed unless they are symlinks or bound directories.</summary>
    public required IReadOnlyList<ClosureEntry> Entries { get; init; }

    /// <summary>True when the program (or an object it loads) uses <c>$ORIGIN</c> of the main executable, which
    /// ld.so computes from <c>/proc/self/exe</c>.</summary>
    public bool MainUsesOrigin { get; init; }

    /// <summary>DT_NEEDED names that were not found (only under <see cref="ClosureRequest.AllowMissing"/>,
    /// or inside package directories), each once.</summary>
    public IReadOnlyList<string> MissingLibraries { get; init; } = [];

    /// <summary>Non-fatal findings (missing library under --allow-missing, …), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
