namespace ConfineExec.Launcher.Planning;

/// <summary>What to print or do instead of running PROGRAM.</summary>
public enum LauncherAction
{
    Run,
    DryRun,
    PrintClosure,
    Explain,
    EmitUnit,
    Help,
    Version,
}

/// <summary>Everything the command line said, parsed and checked for syntax (names are not looked up yet).</summary>
public sealed record LaunchOptions
{
    public ConfinementMode Mode { get; init; } = ConfinementMode.FullApiVfs;
    /// <summary>The seven switches after the mode default and every <c>-p NAME=</c> override.</summary>
    public ConfinementSwitches Switches { get; init; } = ConfinementSwitches.For(ConfinementMode.FullApiVfs);
    /// <summary>Switches the user set explicitly (for --emit-unit comments and tests).</summary>
    public IReadOnlySet<string> OverriddenSwitches { get; init; } = new HashSet<string>();

    /// <summary>User= as given (name or number), or null.</summary>
    public string? User { get; init; }
    public string? Group { get; init; }
    public IReadOnlyList<string> SupplementaryGroups { get; init; } = [];

    public IReadOnlyList<BindSpec> Binds { get; init; } = [];
    public IReadOnlyList<string> StateDirectories { get; init; } = [];
    public IReadOnlyList<string> RuntimeDirectories { get; init; } = [];
    /// <summary>WorkingDirectory= (absolute, or <c>~</c> for the target user's home); null = <c>/</c>.</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>WorkingDirectory= was prefixed with '-': if the chdir fails, PROGRAM starts in <c>/</c> (systemd's
    /// working_directory_missing_ok).</summary>
    public bool WorkingDirectoryMissingOk { get; init; }
    /// <summary>Environment= assignments in command-line order (KEY, VALUE); later ones win.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    public int? Umask { get; init; }
    /// <summary>NoNewPrivileges= as given; null = not given (NNP is still set for a non-root target).</summary>
    public bool? NoNewPrivileges { get; init; }

    public IReadOnlyList<string> Packages { get; init; } = [];
    public bool FullEnv { get; init; }
    public string? ClosureFile { get; init; }
    /// <summary>The program bound at /bin/sh; null for <c>--bin-sh none</c>.</summary>
    public string? BinSh { get; init; } = "/bin/sh";
    public bool AllowMissing { get; init; }
    public bool NewSession { get; init; }
    /// <summary><c>--no-closure-cache</c>: compute the closure live, neither reading nor writing the cache.</summary>
    public bool NoClosureCache { get; init; }

    public LauncherAction Action { get; init; } = LauncherAction.Run;
    public bool Json { get; init; }

    /// <summary>Every <c>-p</c> assignment in command-line order, as given (for --emit-unit).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Properties { get; init; } = [];

    /// <summary>PROGRAM as given (absolute, relative, or a bare name for PATH lookup); null only for --help/--version.</summary>
    public string? Program { get; init; }
    /// <summary>ARG... after PROGRAM, untouched.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];
}
