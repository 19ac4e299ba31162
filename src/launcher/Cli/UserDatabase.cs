using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// The host's <c>/etc/passwd</c> (<c>name:passwd:uid:gid:gecos:home:shell</c>) and <c>/etc/group</c>
/// (<c>name:passwd:gid:member,member…</c>), read directly — no NSS, so the result is the same in an AOT binary
/// with no libnss modules and in a container. Blank lines, <c>#</c> comments, NIS <c>+</c>/<c>-</c> lines and
/// lines with too few fields are skipped; the first entry for a name or id wins, as getpwnam() does.
/// </summary>
public sealed class UserDatabase(string passwdPath = "/etc/passwd", string groupPath = "/etc/group")
{
    public sealed record PasswdEntry(string Name, uint Uid, uint Gid, string Home);
    public sealed record GroupEntry(string Name, uint Gid, IReadOnlyList<string> Members);

    List<PasswdEntry>? _users;
    List<GroupEntry>? _groups;

    IReadOnlyList<PasswdEntry> Users => _users ??= ReadPasswd(passwdPath);
    IReadOnlyList<GroupEntry> Groups => _groups ??= ReadGroup(groupPath);

    /// <summary>Resolves User=, Group= and SupplementaryGroups= (names or numbers). Throws
    /// <see cref="UsageException"/> naming the user or group that does not exist.</summary>
    public TargetCredentials Resolve(string? user, string? group, IReadOnlyList<string> supplementary, uint callerUid, uint callerGid)
    {
        uint uid = callerUid, gid = callerGid;
        string? name = null, home = null;
        if (user is not null)
        {
            PasswdEntry? entry = FindUser(user);
            if (entry is not null)
            {
                (uid, gid, name, home) = (entry.Uid, entry.Gid, entry.Name, entry.Home);
            }
            else if (TryParseId(user, out uint numeric) && group is not null)
            {
                uid = numeric; // a bare number with no passwd entry: usable when Group= says which group
            }
            else
            {
                throw new UsageException("User", user, TryParseId(user, out _)
                    ? $"no such user in {passwdPath} (a numeric uid without an entry needs Group=)"
                    : $"no such user in {passwdPath}");
            }
        }
        if (group is not null) gid = ResolveGroup("Group", group);

        var groups = new List<uint>();
        if (name is not null)
        {
            // getgrouplist(): the primary group, then every group listing the user as a member.
            groups.Add(gid);
            foreach (GroupEntry g in Groups)
                if (g.Members.Contains(name) && !groups.Contains(g.Gid)) groups.Add(g.Gid);
        }
        foreach (string s in supplementary)
        {
            uint g = ResolveGroup("SupplementaryGroups", s);
            if (!groups.Contains(g)) groups.Add(g);
        }
        return new TargetCredentials(uid, gid, groups, name, home);
    }

    public PasswdEntry? FindUser(string nameOrId)
    {
        bool numeric = TryParseId(nameOrId, out uint id);
        return Users.FirstOrDefault(u => u.Name == nameOrId) ?? (numeric ? Users.FirstOrDefault(u => u.Uid == id) : null);
    }

    uint ResolveGroup(string what, string nameOrId)
    {
        GroupEntry? g = Groups.FirstOrDefault(e => e.Name == nameOrId);
        if (g is not null) return g.Gid;
        // A number is a group id whether or not it has a name, as in systemd.
        return TryParseId(nameOrId, out uint id) ? id : throw new UsageException(what, nameOrId, $"no such group in {groupPath}");
    }

    /// <summary>A decimal id in 0..4294967294 (the all-ones value is (uid_t)-1, never valid).</summary>
    public static bool TryParseId(string s, out uint id) =>
        uint.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;

    static List<PasswdEntry> ReadPasswd(string path)
    {
        var list = new List<PasswdEntry>();
        foreach (string[] f in ReadRecords(path, 7))
            if (TryParseId(f[2], out uint uid) && TryParseId(f[3], out uint gid))
                list.Add(new PasswdEntry(f[0], uid, gid, f[5]));
        return list;
    }

    static List<GroupEntry> ReadGroup(string path)
    {
        var list = new List<GroupEntry>();
        foreach (string[] f in ReadRecords(path, 4))
            if (TryParseId(f[2], out uint gid))
                list.Add(new GroupEntry(f[0], gid, f[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        return list;
    }

    static IEnumerable<string[]> ReadRecords(string path, int fields)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException("user database", path, e.Message);
        }
        foreach (string line in lines)
        {
            if (line.Length == 0 || line[0] is '#' or '+' or '-') continue;
            string[] f = line.Split(':');
            if (f.Length >= fields && f[0].Length > 0) yield return f;
        }
    }
}
