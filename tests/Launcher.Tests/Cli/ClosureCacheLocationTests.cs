using ConfineExec.Launcher.CommandLine;

namespace ConfineExec.Launcher.Tests.CliTests;

/// <summary>Where the closure cache lives, from confine-exec's own environment and whether it runs as root.</summary>
public class ClosureCacheLocationTests
{
    public static TheoryData<string, bool, string?, bool> Cases => new()
    {
        { "CONFINE_EXEC_CACHE_DIR=/srv/c HOME=/root", true, "/srv/c", false },
        { "CONFINE_EXEC_CACHE_DIR=/srv/c HOME=/home/u", false, "/srv/c", false },
        { "CONFINE_EXEC_CACHE_DIR= HOME=/home/u", false, null, false },
        { "CONFINE_EXEC_CACHE_DIR=rel HOME=/home/u", false, null, false },
        { "HOME=/root XDG_CACHE_HOME=/root/.xdg", true, "/var/cache/confine-exec", false },
        { "", true, "/var/cache/confine-exec", false },
        { "HOME=/home/u XDG_CACHE_HOME=/home/u/.xdg", false, "/home/u/.xdg/confine-exec", true },
        { "HOME=/home/u XDG_CACHE_HOME=/home/u/.xdg/", false, "/home/u/.xdg/confine-exec", true },
        { "HOME=/home/u XDG_CACHE_HOME=", false, "/home/u/.cache/confine-exec", true },
        { "HOME=/home/u XDG_CACHE_HOME=relative", false, "/home/u/.cache/confine-exec", true },
        { "HOME=/", false, "/.cache/confine-exec", true },
        { "HOME=relative", false, null, false },
        { "", false, null, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Find_Environment_GivesTheDirectory(string environment, bool isRoot, string? path, bool createParents)
    {
        var env = environment.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => new KeyValuePair<string, string>(a[..a.IndexOf('=')], a[(a.IndexOf('=') + 1)..])).ToList();
        var found = ClosureCacheLocation.Find(env, isRoot);
        Assert.Equal(path, found?.Path);
        if (found is { } f) Assert.Equal(createParents, f.CreateParents);
    }
}
