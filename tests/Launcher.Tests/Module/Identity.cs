namespace ConfineExec.Launcher.Tests.Module;

/// <summary>Who PROGRAM runs as: root (the caller is root, no User=), a static user (the caller is root,
/// <c>-p User=daemon -p Group=daemon</c>, as the module test's chroot-testuser), or an unprivileged caller
/// (uid 65534 running confine-exec itself, no User=).</summary>
public enum Identity
{
    Root,
    StaticUser,
    UnprivilegedCaller,
}

public static class Identities
{
    /// <summary>daemon:daemon (1:1): an existing system user, distinct from the overflow id 65534.</summary>
    public const uint StaticUid = 1, StaticGid = 1;

    public static string[] Options(Identity who) =>
        who == Identity.StaticUser ? ["-p", "User=daemon", "-p", "Group=daemon"] : [];

    public static bool AsNobody(Identity who) => who == Identity.UnprivilegedCaller;

    public static (uint Uid, uint Gid) Ids(Identity who) => who switch
    {
        Identity.Root => (0, 0),
        Identity.StaticUser => (StaticUid, StaticGid),
        _ => (65534, 65534),
    };
}
