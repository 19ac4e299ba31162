namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// Base of the binary tests that work in a private shared directory and must leave the host as they found it
/// (DESIGN §6.1, §6.6): the mount table and /tmp, /run are snapshot before the test and compared after it.
/// </summary>
public abstract class HostCheckedTest : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();

    /// <summary>A directory every user can traverse, removed after the test.</summary>
    protected SharedDirectory Dir { get; } = new();

    public void Dispose()
    {
        Dir.Dispose();
        _before.AssertUnchanged();
        GC.SuppressFinalize(this);
    }
}
