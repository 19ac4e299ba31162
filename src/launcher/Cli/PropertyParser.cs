using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// Accumulates <c>-p NAME=VALUE</c> assignments with systemd's semantics: list directives append (an empty
/// assignment resets the list), scalar directives are replaced by later assignments, an empty mode-switch
/// assignment returns it to the mode's default. Unknown names are errors, never ignored.
/// </summary>
public sealed class PropertyParser
{
    /// <summary>Every directive accepted by <c>-p</c>, in the order --help lists them.</summary>
    public static IReadOnlyList<string> KnownNames => s_knownNames;

    // An array, so the per-assignment lookup in Add walks it without an interface enumerator.
    static readonly string[] s_knownNames =
    [
        .. ConfinementSwitches.Names,
        "User", "Group", "SupplementaryGroups", "BindPaths", "BindReadOnlyPaths",
        "StateDirectory", "RuntimeDirectory", "WorkingDirectory", "Environment", "UMask", "NoNewPrivileges",
    ];

    readonly Dictionary<string, bool> _switches = [];
    readonly List<BindSpec> _binds = [];
    readonly List<string> _supplementaryGroups = [];
    readonly List<string> _stateDirectories = [];
    readonly List<string> _runtimeDirectories = [];
    readonly List<KeyValuePair<string, string>> _environment = [];
    readonly List<KeyValuePair<string, string>> _properties = [];
    string? _user, _group, _workingDirectory;
    bool _workingDirectoryMissingOk;
    int? _umask;
    bool? _noNewPrivileges;

    /// <summary>Applies one <c>-p</c> argument (<c>NAME=VALUE</c>).</summary>
    public void Add(string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq < 0) throw new UsageException("--property", assignment, "expected NAME=VALUE");
        // The name is found among the known ones by span and that string used (thousands of -p in one command
        // line: no copy of a name per assignment).
        string? name = null;
        foreach (string known in s_knownNames)
            if (assignment.AsSpan(0, eq).SequenceEqual(known)) { name = known; break; }
        if (name is null)
            throw new UsageException("--property", assignment, "unknown property (see --help)");
        string value = assignment[(eq + 1)..];
        Apply(name, value);
        _properties.Add(new(name, value));
    }

    void Apply(string name, string value)
    {
        switch (name)
        {
            case "User":
                if (value.Length > 0) SystemdSyntax.RequireValidName(name, value);
                _user = value.Length == 0 ? null : value;
                break;
            case "Group":
                if (value.Length > 0) SystemdSyntax.RequireValidName(name, value);
                _group = value.Length == 0 ? null : value;
                break;
            case "SupplementaryGroups":
                if (value.Length == 0) { _supplementaryGroups.Clear(); break; }
                foreach (string g in SystemdSyntax.SplitWords(name, value))
                {
                    SystemdSyntax.RequireValidName(name, g);
                    _supplementaryGroups.Add(g);
                }
                break;
            case "BindPaths" or "BindReadOnlyPaths":
                // systemd: "an empty assignment resets both lists".
                if (value.Length == 0) { _binds.Clear(); break; }
                _binds.AddRange(SystemdSyntax.ParseBindPaths(name, value, readOnly: name == "BindReadOnlyPaths"));
                break;
            case "StateDirectory" or "RuntimeDirectory":
                var list = name == "StateDirectory" ? _stateDirectories : _runtimeDirectories;
                if (value.Length == 0) { list.Clear(); break; }
                foreach (string d in SystemdSyntax.SplitWords(name, value))
                {
                    string dir = SystemdSyntax.ParseDirectoryName(name, d);
                    if (!list.Contains(dir)) list.Add(dir);
                }
                break;
            case "WorkingDirectory":
                _workingDirectoryMissingOk = value.StartsWith('-'); // systemd: a directory that is missing is not fatal
                if (_workingDirectoryMissingOk) value = value[1..];
                if (value.Length == 0) { _workingDirectory = null; _workingDirectoryMissingOk = false; break; }
                if (value != "~")
                {
                    SystemdSyntax.RequireAbsolute(name, value, "directory");
                    value = SystemdSyntax.NormalizePath(value);
                }
                _workingDirectory = value;
                break;
            case "Environment":
                if (value.Length == 0) { _environment.Clear(); break; }
                foreach (string w in SystemdSyntax.SplitWords(name, value))
                    _environment.Add(SystemdSyntax.ParseAssignment(name, w));
                break;
            case "UMask":
                _umask = value.Length == 0 ? null : SystemdSyntax.ParseMode(name, value);
                break;
            case "NoNewPrivileges":
                _noNewPrivileges = value.Length == 0 ? null : SystemdSyntax.ParseBoolean(name, value);
                break;
            default: // the seven mode switches
                if (value.Length == 0) _switches.Remove(name);
                else _switches[name] = SystemdSyntax.ParseBoolean(name, value);
                break;
        }
    }

    /// <summary>Copies the accumulated properties onto <paramref name="options"/>.</summary>
    public LaunchOptions ApplyTo(LaunchOptions options)
    {
        var switches = ConfinementSwitches.For(options.Mode);
        var overridden = new HashSet<string>();
        foreach (var (name, value) in _switches)
        {
            switches = switches.With(name, value);
            overridden.Add(name);
        }
        return options with
        {
            Switches = switches,
            OverriddenSwitches = overridden,
            User = _user,
            Group = _group,
            SupplementaryGroups = _supplementaryGroups.ToArray(),
            Binds = _binds.ToArray(),
            StateDirectories = _stateDirectories.ToArray(),
            RuntimeDirectories = _runtimeDirectories.ToArray(),
            WorkingDirectory = _workingDirectory,
            WorkingDirectoryMissingOk = _workingDirectoryMissingOk,
            Environment = _environment.ToArray(),
            Umask = _umask,
            NoNewPrivileges = _noNewPrivileges,
            Properties = _properties.ToArray(),
        };
    }
}
