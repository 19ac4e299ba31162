using System.CommandLine;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// <c>confine-exec [OPTION]... [--] PROGRAM [ARG]...</c>. System.CommandLine parses the launcher's own options;
/// the split between them and PROGRAM's argv is done here first, because the first non-option (or <c>--</c>)
/// ends the launcher's options and everything after it must reach PROGRAM untouched (<c>confine-exec ls -l</c>
/// passes <c>-l</c> to ls), which a per-option parser cannot express.
/// </summary>
/// <remarks>
/// A command line whose options are all in the plain spelling (<see cref="TryReadPlain"/>) is read without
/// System.CommandLine: building its command and parsing one launch's options cost 0.3–0.4 ms of a 4.5 ms
/// chroot-only launch (interleaved hyperfine; docs/cli-decisions.md, "Plain spelling"). For those command lines
/// System.CommandLine would give exactly the same values (tests compare both readings); every other spelling,
/// and every error, goes through System.CommandLine.
/// </remarks>
public static class CommandLineParser
{
    /// <summary>Cap on the launcher's own tokens (bubblewrap's MAX_ARGS); PROGRAM's argv is not capped.</summary>
    public const int MaxLauncherTokens = 9000;

    private enum Arity { Flag, Value, List }

    /// <summary>The launcher's options; each one's value is its index in <see cref="s_options"/> and its
    /// <see cref="Given"/> slot.</summary>
    private enum OptionId
    {
        Mode, Property, Package, FullEnv, ClosureFile, BinSh, AllowMissing, NewSession, NoClosureCache, PrintClosure,
        Json, Explain, DryRun, EmitUnit, Help, Version,
    }

    private sealed record OptionSpec(OptionId Id, string Name, string? Alias, Arity Arity, string? Description = null);

    // The one list of the launcher's options: System.CommandLine's command and the plain reading both come from it.
    private static readonly OptionSpec[] s_options = InIdOrder(
    [
        new(OptionId.Mode, "--mode", null, Arity.Value, "full-apivfs (default) or chroot-only"),
        new(OptionId.Property, "--property", "-p", Arity.List, "NAME=VALUE systemd directive"),
        new(OptionId.Package, "--package", null, Arity.List, "extra path and its closure"),
        new(OptionId.FullEnv, "--full-env", null, Arity.Flag),
        new(OptionId.ClosureFile, "--closure-file", null, Arity.Value),
        new(OptionId.BinSh, "--bin-sh", null, Arity.Value),
        new(OptionId.AllowMissing, "--allow-missing", null, Arity.Flag),
        new(OptionId.NewSession, "--new-session", null, Arity.Flag),
        new(OptionId.NoClosureCache, "--no-closure-cache", null, Arity.Flag),
        new(OptionId.PrintClosure, "--print-closure", null, Arity.Flag),
        new(OptionId.Json, "--json", null, Arity.Flag),
        new(OptionId.Explain, "--explain", null, Arity.Flag),
        new(OptionId.DryRun, "--dry-run", null, Arity.Flag),
        new(OptionId.EmitUnit, "--emit-unit", null, Arity.Flag),
        new(OptionId.Help, "--help", "-h", Arity.Flag),
        new(OptionId.Version, "--version", null, Arity.Flag),
    ]);

    /// <summary>The table, checked once: an entry out of <see cref="OptionId"/> order would read another option's slot.</summary>
    private static OptionSpec[] InIdOrder(OptionSpec[] table)
    {
        for (int i = 0; i < table.Length; i++)
            if ((int)table[i].Id != i) throw new InvalidOperationException($"option table: {table[i].Name} is not at its id's index");
        return table;
    }

    /// <summary>What the command line gave each option, by <see cref="s_options"/> index.</summary>
    private sealed class Given
    {
        public readonly string?[] Values = new string?[s_options.Length];
        public readonly List<string>?[] Lists = new List<string>?[s_options.Length];
        public readonly bool[] Flags = new bool[s_options.Length];

        public string? Value(OptionId id) => Values[(int)id];
        public List<string>? List(OptionId id) => Lists[(int)id];
        public bool Flag(OptionId id) => Flags[(int)id];
    }

    /// <summary>Whether <paramref name="token"/> is the name or alias of an option that takes a value (the token
    /// after it is that value).</summary>
    private static bool TakesValue(string token) => IndexOfOption(token) is int i and >= 0 && s_options[i].Arity != Arity.Flag;

    /// <summary>Parses argv. Throws <see cref="UsageException"/> for any syntax error.</summary>
    public static LaunchOptions Parse(IReadOnlyList<string> args) => Parse(args, plainReading: true);

    /// <summary><paramref name="plainReading"/> false: System.CommandLine reads every command line (tests compare).</summary>
    internal static LaunchOptions Parse(IReadOnlyList<string> args, bool plainReading)
    {
        int programIndex = SplitProgram(args, out List<string> launcherTokens);
        if (launcherTokens.Count > MaxLauncherTokens)
            throw new UsageException("command line", $"{launcherTokens.Count} options", $"more than {MaxLauncherTokens}");

        Given given = (plainReading ? TryReadPlain(launcherTokens) : null) ?? ReadWithSystemCommandLine(launcherTokens);
        if (given.Flag(OptionId.Help)) return new LaunchOptions { Action = LauncherAction.Help };
        if (given.Flag(OptionId.Version)) return new LaunchOptions { Action = LauncherAction.Version };

        var options = new LaunchOptions
        {
            Mode = ParseMode(given.Value(OptionId.Mode)),
            Packages = given.List(OptionId.Package) is { } packages ? [.. packages.Select(p => RequireNonEmpty("--package", p))] : [],
            FullEnv = given.Flag(OptionId.FullEnv),
            ClosureFile = given.Value(OptionId.ClosureFile) is { } cf ? RequireNonEmpty("--closure-file", cf) : null,
            BinSh = ParseBinSh(given.Value(OptionId.BinSh)),
            AllowMissing = given.Flag(OptionId.AllowMissing),
            NewSession = given.Flag(OptionId.NewSession),
            NoClosureCache = given.Flag(OptionId.NoClosureCache),
            Action = ParseAction(given),
            Json = given.Flag(OptionId.Json),
        };
        if (options.Json && options.Action != LauncherAction.PrintClosure)
            throw new UsageException("option", "--json", "only applies to --print-closure");

        // Always applied: it also sets the switches from the mode.
        var propertyParser = new PropertyParser();
        foreach (string p in given.List(OptionId.Property) ?? []) propertyParser.Add(p);
        options = propertyParser.ApplyTo(options);

        if (programIndex >= args.Count)
            throw new UsageException("command line", "PROGRAM", "missing: give the program to run after the options (see --help)");
        if (args[programIndex].Length == 0)
            throw new UsageException("command line", "PROGRAM", "empty program name");
        var arguments = new string[args.Count - programIndex - 1];
        for (int i = 0; i < arguments.Length; i++) arguments[i] = args[programIndex + 1 + i];
        return options with { Program = args[programIndex], Arguments = arguments };
    }

    /// <summary>
    /// The options of a command line in the plain spelling, else null. Plain: every token is an option's exact
    /// name or alias (no <c>--name=VALUE</c>, <c>-pVALUE</c> or <c>-p:VALUE</c>); an option that takes a value is
    /// followed by one that is not empty and does not start with '-' or '@'; no option but a repeatable one is
    /// given twice; no --help or --version. System.CommandLine gives such a command line exactly these values:
    /// each option's value is the token after it, a repeatable option's values come in command-line order, and a
    /// flag given is true. Anything else — including every mistake — is left to System.CommandLine, which decides
    /// and reports.
    /// </summary>
    private static Given? TryReadPlain(List<string> tokens)
    {
        var given = new Given();
        var seen = new bool[s_options.Length];
        for (int i = 0; i < tokens.Count; i++)
        {
            int option = IndexOfOption(tokens[i]);
            if (option < 0 || option == (int)OptionId.Help || option == (int)OptionId.Version) return null;
            OptionSpec spec = s_options[option];
            if (seen[option] && spec.Arity != Arity.List) return null;
            seen[option] = true;
            if (spec.Arity == Arity.Flag)
            {
                given.Flags[option] = true;
                continue;
            }
            if (i + 1 == tokens.Count) return null;
            string value = tokens[++i];
            if (value.Length == 0 || value[0] == '-' || value[0] == '@') return null;
            if (spec.Arity == Arity.Value)
                given.Values[option] = value;
            else
                (given.Lists[option] ??= []).Add(value);
        }
        return given;
    }

    /// <summary>Whether <paramref name="args"/> is read without System.CommandLine (for tests).</summary>
    internal static bool ReadsPlainly(IReadOnlyList<string> args)
    {
        SplitProgram(args, out List<string> launcherTokens);
        return TryReadPlain(launcherTokens) is not null;
    }

    private static int IndexOfOption(string token)
    {
        for (int i = 0; i < s_options.Length; i++)
            if (token == s_options[i].Name || token == s_options[i].Alias) return i;
        return -1;
    }

    /// <summary>System.CommandLine's reading of the launcher's tokens; throws <see cref="UsageException"/> for its errors.</summary>
    private static Given ReadWithSystemCommandLine(List<string> tokens)
    {
        // A plain Command, not RootCommand: no implicit help/version options and no "[directive]" tokens.
        var command = new Command("confine-exec") { TreatUnmatchedTokensAsErrors = true };
        var symbols = new Option[s_options.Length];
        for (int i = 0; i < s_options.Length; i++)
        {
            OptionSpec spec = s_options[i];
            string[] aliases = spec.Alias is null ? [] : [spec.Alias];
            symbols[i] = spec.Arity switch
            {
                Arity.Flag => new Option<bool>(spec.Name, aliases) { Arity = ArgumentArity.Zero, Description = spec.Description },
                Arity.Value => new Option<string>(spec.Name, aliases) { Description = spec.Description },
                _ => new Option<string[]>(spec.Name, aliases) { AllowMultipleArgumentsPerToken = false, Description = spec.Description },
            };
            command.Options.Add(symbols[i]);
        }

        List<string>? properties = TakePlainProperties(ref tokens);
        ParseResult result = command.Parse(tokens, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.UnmatchedTokens.Count > 0)
            throw new UsageException("option", result.UnmatchedTokens[0], "unknown option (see --help)");
        if (result.Errors.Count > 0)
        {
            var error = result.Errors[0];
            if (error.SymbolResult is System.CommandLine.Parsing.OptionResult r)
                throw new UsageException("option", r.Option.Name, r.Tokens.Count == 0 ? "requires a value" : error.Message.TrimEnd('.'));
            throw new UsageException("option", "command line", error.Message.TrimEnd('.'));
        }

        var given = new Given();
        for (int i = 0; i < s_options.Length; i++)
        {
            switch (symbols[i])
            {
                case Option<bool> flag: given.Flags[i] = result.GetValue(flag); break;
                case Option<string> value: given.Values[i] = result.GetValue(value); break;
                case Option<string[]> list when result.GetValue(list) is { Length: > 0 } values: given.Lists[i] = [.. values]; break;
            }
        }
        if (properties is not null) given.Lists[(int)OptionId.Property] = properties;
        return given;
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
    private static List<string>? TakePlainProperties(ref List<string> tokens)
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
            else if (TakesValue(t))
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
                if (TakesValue(t) && i + 1 < tokens.Count) rest.Add(tokens[++i]);
            }
        }
        tokens = rest;
        return values;
    }

    /// <summary>Returns the index of PROGRAM in <paramref name="args"/> (args.Count if none) and the launcher's
    /// own tokens before it, without a terminating <c>--</c>.</summary>
    private static int SplitProgram(IReadOnlyList<string> args, out List<string> launcherTokens)
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
            if (TakesValue(a) && i < args.Count) launcherTokens.Add(args[i++]);
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

    private static LauncherAction ParseAction(Given given)
    {
        var chosen = new List<(string Name, LauncherAction Action)>();
        if (given.Flag(OptionId.DryRun)) chosen.Add(("--dry-run", LauncherAction.DryRun));
        if (given.Flag(OptionId.PrintClosure)) chosen.Add(("--print-closure", LauncherAction.PrintClosure));
        if (given.Flag(OptionId.Explain)) chosen.Add(("--explain", LauncherAction.Explain));
        if (given.Flag(OptionId.EmitUnit)) chosen.Add(("--emit-unit", LauncherAction.EmitUnit));
        if (chosen.Count > 1)
            throw new UsageException("option", string.Join(" ", chosen.Select(c => c.Name)), "mutually exclusive");
        return chosen.Count == 1 ? chosen[0].Action : LauncherAction.Run;
    }
}
