using ConfineExec.Elf;

namespace ConfineExec.Launcher.Planning;

/// <summary>Everything <see cref="PlanBuilder"/> reads: no other input, no host access.</summary>
/// <param name="Closure">The closure with any --closure-file entries merged in.</param>
/// <param name="Credentials">User=/Group=/SupplementaryGroups= resolved, or null when none was given.</param>
/// <param name="Environment">The launcher's own environment, in order (passed through to PROGRAM).</param>
public sealed record PlanRequest(
    LaunchOptions Options,
    Closure Closure,
    TargetCredentials? Credentials,
    HostFacts Host,
    IReadOnlyList<KeyValuePair<string, string>> Environment);
