using System.CommandLine;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// <c>confine-exec [OPTION]... [--] PROGRAM [ARG]...</c>. System.CommandLine parses the launcher's own options;
/// the split between them and PROGRAM's argv is done here first, because the first non-option (or <c>--</c>)
/// ends the launcher's options and everything after it must reach PROGRAM untouched (<c>confine-exec ls -l</c>
/// passes <c>-l</c> to ls), which a per-option parser cannot express.
/// </summary>
public sealed class CommandLineParser
{
    /// <summary>Cap on the launcher's own tokens (bubblewrap's MAX_ARGS); PROGRAM's argv is not capped.</summary>
    public const int MaxLauncherTokens = 9000;

    public Option<string> Mode { get; } = new("--mode") { Description = "full-apivfs (default) or chroot-only" };
    public Option<string[]> Property { get; } = new("--property", "-p") { Description = "NAME=VALUE systemd directive" };
    public Option<string[]> Package { get; } = new("--package") { Description = "extra path and its closure" };
    public Option<bool> FullEnv { get; } = new("--full-env") { Arity = ArgumentArity.Zero };
    public Option<string> ClosureFile { get; } = new("--closure-file");
    public Option<string> BinSh { get; } = new("--bin-sh");
    public Option<bool> AllowMissing { get; } = new("--allow-missing") { Arity = ArgumentArity.Zero };
    public Option<bool> NewSession { get; } = new("--new-session") { Arity = ArgumentArity.Zero };
    public Option<bool> NoClosureCache { get; } = new("--no-closure-cache") { Arity = ArgumentArity.Zero };
    public Option<bool> PrintClosure { get; } = new("--print-closure") { Arity = ArgumentArity.Zero };
    public Option<bool> Json { get; } = new("--json") { Arity = ArgumentArity.Zero };
    public Option<bool> Explain { get; } = new("--explain") { Arity = ArgumentArity.Zero };
    public Option<bool> DryRun { get; } = new("--dry-run") { Arity = ArgumentArity.Zero };
    public Option<bool> EmitUnit { get; } = new("--emit-unit") { Arity = ArgumentArity.Zero };
    public Option<bool> Help { get; } = new("--help", "-h") { Arity = ArgumentArity.Zero };
    public Option<bool> Version { get; } = new("--version") { Arity = ArgumentArity.Zero };

    readonly Command _command;
    readonly HashSet<string> _valueTaking = new(StringComparer.Ordinal);

    public CommandLineParser()
    {
        // A plain Command, not RootCommand: no implicit help/version options and no "[directive]" tokens.
        _command = new Command("confine-exec") { TreatUnmatchedTokensAsErrors = true };
        foreach (Option o in (Option[])[Mode, Property, Package, FullEnv, ClosureFile, BinSh, AllowMissing, NewSession,
                                        NoClosureCache, PrintClosure, Json, Explain, DryRun, EmitUnit, Help, Version])
        {
            _command.Options.Add(o);
            if (o.Arity.MaximumNumberOfValues > 0)
            {
                _valueTaking.Add(o.Name);
                foreach (string alias in o.Aliases) _valueTaking.Add(alias);
            }
        }
        Property.AllowMultipleArgumentsPerToken = false;
        Package.AllowMultipleArgumentsPerToken = false;
    }

    /// <summary>Parses argv. Throws <see cref="UsageException"/> for any syntax error.</summary>
    public LaunchOptions Parse(IReadOnlyList<string> args)
    {
        int programIndex = SplitProgram(args, out List<string> launcherTokens);
        if (launcherTokens.Count > MaxLauncherTokens)
            throw new UsageException("command line", $"{launcherTokens.Count} options", $"more than {MaxLauncherTokens}");

        List<string>? properties = TakePlainProperties(ref launcherTokens);
        ParseResult result = _command.Parse(launcherTokens, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.UnmatchedTokens.Count > 0)
            throw new UsageException("option", result.UnmatchedTokens[0], "unknown option (see --help)");
        if (result.Errors.Count > 0)
        {
            var error = result.Errors[0];
            if (error.SymbolResult is System.CommandLine.Parsing.OptionResult r)
                throw new UsageException("option", r.Option.Name, r.Tokens.Count == 0 ? "requires a value" : error.Message.TrimEnd('.'));
            throw new UsageException("option", "command line", error.Message.TrimEnd('.'));
        }

        if (result.GetValue(Help)) return new LaunchOptions { Action = LauncherAction.Help };
        if (result.GetValue(Version)) return new LaunchOptions { Action = LauncherAction.Version };

        var options = new LaunchOptions
        {
            Mode = ParseMode(result.GetValue(Mode)),
            Packages = [.. (result.GetValue(Package) ?? []).Select(p => RequireNonEmpty("--package", p))],
            FullEnv = result.GetValue(FullEnv),
            ClosureFile = result.GetValue(ClosureFile) is { } cf ? RequireNonEmpty("--closure-file", cf) : null,
            BinSh = ParseBinSh(result.GetValue(BinSh)),
            AllowMissing = result.GetValue(AllowMissing),
            NewSession = result.GetValue(NewSession),
            NoClosureCache = result.GetValue(NoClosureCache),
            Action = ParseAction(result),
            Json = result.GetValue(Json),
        };
        if (options.Json && options.Action != LauncherAction.PrintClosure)
            throw new UsageException("option", "--json", "only applies to --print-closure");

        var propertyParser = new PropertyParser();
        foreach (string p in properties ?? (IEnumerable<string>)(result.GetValue(Property) ?? [])) propertyParser.Add(p);
        options = propertyParser.ApplyTo(options);

        if (programIndex >= args.Count)
            throw new UsageException("command line", "PROGRAM", "missing: give the program to run after the options (see --help)");
        if (args[programIndex].Length == 0)
            throw new UsageException("command line", "PROGRAM", "empty program name");
        return options with { Program = args[programIndex], Arguments = [.. args.Skip(programIndex + 1)] };
    }

    /// <summary>
    /// The values of <c>-p VALUE</c> / <c>--property VALUE</c> pairs taken out of <paramref name="tokens"/> before
    /// System.CommandLine sees them (thousands of -p in one command line: its tokens, results and conversions
    /// were a tenth of the user time). Only when every property is given in that plain form with a value that
    /// does not start with '-': then System.CommandLine would give exactly these values in this order, the option
    /// taking the next token as it is. Any other spelling (<c>-pX</c>, <c>-p=X</c>, <c>--property:X</c>, a value
    /// like <c>-x</c> or <c>--</c>, for -p or any option that takes one) leaves the tokens untouched (null) for
    /// System.CommandLine to parse and report.
    /// </summary>
    List<string>? TakePlainProperties(ref List<string> tokens)
    {
        int pairs = 0;
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (t == "-p" || t == "--property")
            {
                if (i + 1 == tokens.Count || tokens[i + 1].StartsWith('-')) return null;
                pairs++;
                i++; // the value
            }
            else if (t.StartsWith("-p", StringComparison.Ordinal) || t.StartsWith("--property", StringComparison.Ordinal))
                return null;
            else if (_valueTaking.Contains(t))
            {
                if (i + 1 < tokens.Count && tokens[i + 1].StartsWith('-')) return null; // System.CommandLine decides
                i++; // another option's value
            }
        }
        if (pairs == 0) return null;
        var values = new List<string>(pairs);
        var rest = new List<string>(tokens.Count - 2 * pairs);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (t == "-p" || t == "--property")
                values.Add(tokens[++i]);
            else
            {
                rest.Add(t);
                if (_valueTaking.Contains(t) && i + 1 < tokens.Count) rest.Add(tokens[++i]);
            }
        }
        tokens = rest;
        return values;
    }

    /// <summary>Returns the index of PROGRAM in <paramref name="args"/> (args.Count if none) and the launcher's
    /// own tokens before it, without a terminating <c>--</c>.</summary>
    int SplitProgram(IReadOnlyList<string> args, out List<string> launcherTokens)
    {
        launcherTokens = [];
        int i = 0;
        while (i < args.Count)
        {
            string a = args[i];
            if (a == "--") return i + 1;
            if (a.Length < 2 || a[0] != '-') return i; // first non-option ("-" alone is a non-option too)
            launcherTokens.Add(a);
            i++;
            // "--mode chroot-only" takes the next token; "--mode=chroot-only" does not.
            if (_valueTaking.Contains(a) && i < args.Count) launcherTokens.Add(args[i++]);
        }
        return i;
    }

    static ConfinementMode ParseMode(string? value) => value switch
    {
        null or "full-apivfs" => ConfinementMode.FullApiVfs,
        "chroot-only" => ConfinementMode.ChrootOnly,
        _ => throw new UsageException("--mode", value, "expected full-apivfs or chroot-only"),
    };

    static string? ParseBinSh(string? value) => value switch
    {
        null => "/bin/sh",
        "none" => null,
        "" => throw new UsageException("--bin-sh", value, "expected PATH or none"),
        _ => value,
    };

    static string RequireNonEmpty(string what, string value) =>
        value.Length > 0 ? value : throw new UsageException(what, value, "empty path");

    LauncherAction ParseAction(ParseResult result)
    {
        var chosen = new List<(string Name, LauncherAction Action)>();
        if (result.GetValue(DryRun)) chosen.Add(("--dry-run", LauncherAction.DryRun));
        if (result.GetValue(PrintClosure)) chosen.Add(("--print-closure", LauncherAction.PrintClosure));
        if (result.GetValue(Explain)) chosen.Add(("--explain", LauncherAction.Explain));
        if (result.GetValue(EmitUnit)) chosen.Add(("--emit-unit", LauncherAction.EmitUnit));
        if (chosen.Count > 1)
            throw new UsageException("option", string.Join(" ", chosen.Select(c => c.Name)), "mutually exclusive");
        return chosen.Count == 1 ? chosen[0].Action : LauncherAction.Run;
    }
}
