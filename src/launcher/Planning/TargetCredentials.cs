namespace ConfineExec.Launcher.Planning;

/// <summary>User=/Group=/SupplementaryGroups= resolved against the host's passwd and group files.</summary>
/// <param name="UserName">The passwd name, or null for a numeric uid without an entry.</param>
/// <param name="Home">The passwd home directory (for <c>WorkingDirectory=~</c>), or null.</param>
/// <param name="SupplementaryGroups">The user's memberships in /etc/group plus SupplementaryGroups=, in order,
/// each once (what systemd's getgrouplist() call gives).</param>
public sealed record TargetCredentials(uint Uid, uint Gid, IReadOnlyList<uint> SupplementaryGroups, string? UserName = null, string? Home = null);
