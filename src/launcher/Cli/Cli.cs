using ConfineExec.Elf;
using ConfineExec.Launcher.Diagnostics;
using ConfineExec.Launcher.Execution;
using ConfineExec.Launcher.Output;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>What <see cref="Cli"/> needs from the world; tests replace any part.</summary>
public sealed record CliServices
{
    public Func<ClosureRequest, Closure> BuildClosure { get; init; } = ClosureBuilder.Build;
    public Func<LaunchPlan, int> Execute { get; init; } = PlanExecutor.Run;
    /// <summary>Called only when a plan is built (not for --print-closure, --explain, --emit-unit).</summary>
    public Func<HostFacts> DetectHost { get; init; } = HostFacts.Detect;
    /// <summary>Opened only when User=, Group=, SupplementaryGroups= or WorkingDirectory=~ is given.</summary>
    public Func<UserDatabase> OpenUserDatabase { get; init; } = () => new UserDatabase();
    /// <summary>The process environment, read on first use (not for --version, --help or a usage error).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment
    {
        get => _environment ??= ProcessEnvironment();
        init => _environment = value;
    }
    private IReadOnlyList<KeyValuePair<string, string>>? _environment;
    /// <summary>Whether the closure cache is used (at <see cref="ClosureCacheLocation"/>, unless
    /// <c>--no-closure-cache</c>). Off unless asked for: only the real command (<see cref="Cli.Run(string[], TextWriter, TextWriter)"/>)
    /// turns it on, so no in-process test reads or writes a cache it did not choose.</summary>
    public bool UseClosureCache { get; init; }
    /// <summary>Whether a launch that will fork starts its no-GC region right after parsing
    /// (<see cref="PlanExecutor.BeginNoGcRegionEarly"/>). Only the real command: an in-process test host is left
    /// in normal GC mode.</summary>
    public bool EarlyNoGcRegion { get; init; }
    /// <summary>Existence check for --full-env candidates.</summary>
    public Func<string, bool> PathExists { get; init; } = p => File.Exists(p) || Directory.Exists(p);

    static List<KeyValuePair<string, string>> ProcessEnvironment()
    {
        var list = Interop.Libc.ReadEnviron();
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }
}

/// <summary>
/// The whole command: parse → closure → plan → validate → print or run. Every failure before exec is one
/// stderr line <c>confine-exec: …</c> and an exit code from <see cref="ExitCodes"/>.
/// </summary>
public static class Cli
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        Run(args, stdout, stderr, new CliServices { UseClosureCache = true, EarlyNoGcRegion = true });

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CliServices services)
    {
        try
        {
            return RunCore(args, stdout, stderr, services);
        }
        catch (UsageException e) { return Fail(stderr, e.Message, ExitCodes.LauncherFailure); }
        catch (PlanValidationException e) { return Fail(stderr, e.Message, ExitCodes.LauncherFailure); }
        catch (ClosureException e) { return Fail(stderr, e.Message, ExitCodeFor(e.Error)); }
        catch (ElfFormatException e) { return Fail(stderr, e.Message, ExitCodes.LauncherFailure); }
        catch (LaunchException e) { return Fail(stderr, e.Message, e.ExitCode); }
        catch (NotImplementedException e) { return Fail(stderr, $"not implemented: {e.Message}", ExitCodes.LauncherFailure); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(stderr, $"i/o: {e.GetType().Name}: {e.Message}", ExitCodes.LauncherFailure);
        }
    }

    public static int ExitCodeFor(ClosureError error) => error switch
    {
        ClosureError.ProgramNotFound => ExitCodes.NotFound,
        ClosureError.ProgramNotExecutable => ExitCodes.NotExecutable,
        _ => ExitCodes.LauncherFailure,
    };

    static int Fail(TextWriter stderr, string message, int code)
    {
        stderr.WriteLine("confine-exec: " + message.ReplaceLineEndings(" "));
        return code;
    }

    static int RunCore(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CliServices services)
    {
        LaunchOptions options = CommandLineParser.Parse(args);
        LaunchPhases.Mark(LaunchPhase.Parsed);
        switch (options.Action)
        {
            case LauncherAction.Help: stdout.WriteLine(HelpText.Usage); return 0;
            case LauncherAction.Version: stdout.WriteLine(HelpText.Version); return 0;
        }

        // A launch that forks (PrivateUsers=, or not root) needs a no-GC region at the fork; it is cheapest now.
        if (services.EarlyNoGcRegion && options.Action == LauncherAction.Run
            && (options.Switches.PrivateUsers || !Environment.IsPrivilegedProcess))
            PlanExecutor.BeginNoGcRegionEarly();
        Closure closure = ComputeClosure(options, services, out List<string> warnings);
        LaunchPhases.Mark(LaunchPhase.Closure);
        foreach (string w in warnings) stderr.WriteLine("confine-exec: warning: " + w);

        switch (options.Action)
        {
            case LauncherAction.PrintClosure:
                if (options.Json) ClosurePrinter.PrintJson(closure, stdout); else ClosurePrinter.PrintPaths(closure, stdout);
                return 0;
            case LauncherAction.Explain: ExplainPrinter.Print(closure, stdout); return 0;
            case LauncherAction.EmitUnit: UnitEmitter.Emit(options, closure, stdout); return 0;
        }

        HostFacts host = services.DetectHost();
        TargetCredentials? creds = null;
        bool homeWanted = options.WorkingDirectory == "~";
        if (options.User is not null || options.Group is not null || options.SupplementaryGroups.Count > 0 || homeWanted)
        {
            UserDatabase db = services.OpenUserDatabase();
            creds = db.Resolve(options.User, options.Group, options.SupplementaryGroups, host.Uid, host.Gid);
            if (homeWanted)
            {
                string? home = creds.Home ?? db.FindUser(host.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture))?.Home;
                if (home is null || !home.StartsWith('/'))
                    throw new UsageException("WorkingDirectory", "~", "the user has no home directory in the passwd file");
                options = options with { WorkingDirectory = SystemdSyntax.NormalizePath(home) };
                if (options.User is null && options.Group is null && options.SupplementaryGroups.Count == 0) creds = null;
            }
        }

        LaunchPhases.Mark(LaunchPhase.Host);
        LaunchPlan plan = PlanBuilder.Build(new PlanRequest(options, closure, creds, host, services.Environment));
        LaunchPhases.Mark(LaunchPhase.Planned);
        PlanValidator.Validate(plan, host);
        LaunchPhases.Mark(LaunchPhase.Validated);
        host.Release();
        if (options.Action == LauncherAction.DryRun)
        {
            DryRunPrinter.Print(plan, stdout);
            return 0;
        }
        stdout.Flush();
        return services.Execute(plan);
    }

    static Closure ComputeClosure(LaunchOptions options, CliServices services, out List<string> warnings)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        // Index loops, not foreach, over these interface-typed lists: docs/cli-decisions.md, "Start-up".
        IReadOnlyList<KeyValuePair<string, string>> inherited = services.Environment, given = options.Environment;
        for (int i = 0; i < inherited.Count; i++) env[inherited[i].Key] = inherited[i].Value;
        for (int i = 0; i < given.Count; i++) env[given[i].Key] = given[i].Value;

        var packages = new List<string>(options.Packages);
        if (options.FullEnv)
            foreach (string p in EnvironmentPaths.Find(env, services.PathExists))
                if (!packages.Contains(p)) packages.Add(p);

        var request = new ClosureRequest
        {
            Program = options.Program!,
            Environment = env,
            WorkingDirectory = options.WorkingDirectory is { } wd && wd.StartsWith('/') ? wd : "/",
            BinSh = options.BinSh,
            Packages = packages,
            AllowMissing = options.AllowMissing,
        };
        Closure closure;
        using (ClosureCache? cache = services.UseClosureCache && !options.NoClosureCache
                   && ClosureCacheLocation.Find(services.Environment, Environment.IsPrivilegedProcess) is { } at
                   ? ClosureCache.Open(at.Path, at.CreateParents) : null)
            closure = cache is not null ? cache.GetOrBuild(request, services.BuildClosure) : services.BuildClosure(request);
        warnings = new List<string>(closure.Warnings);
        if (options.ClosureFile is null) return closure;

        var paths = new HashSet<string>(closure.Entries.Select(e => e.Path), StringComparer.Ordinal);
        var extra = ClosureFileReader.Read(options.ClosureFile, options.AllowMissing, warnings).Where(e => paths.Add(e.Path));
        return new Closure
        {
            ProgramPath = closure.ProgramPath,
            Entries = [.. closure.Entries.Concat(extra).OrderBy(e => e.Path, StringComparer.Ordinal)],
            MainUsesOrigin = closure.MainUsesOrigin,
            Warnings = closure.Warnings,
        };
    }
}
