namespace ConfineExec.Elf.Tests.Reading;

/// <summary>The closure cache keys entries by the running executable's GNU build ID, read from the program headers
/// the loader reports (dl_iterate_phdr): it must be the one readelf finds in the file.</summary>
public sealed class ExecutableBuildIdTests
{
    [Fact]
    public void ExecutableBuildId_OfThisProcess_IsReadelfsBuildId()
    {
        string exe = Environment.ProcessPath!;
        var (code, notes) = Tool.Run("readelf", "-n", exe);
        Assert.True(code == 0, $"readelf -n {exe} failed");
        string? expected = notes.Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("Build ID: ", StringComparison.Ordinal)).Select(l => l["Build ID: ".Length..]).FirstOrDefault();
        if (expected is null) Assert.Skip($"{exe} carries no GNU build ID");
        Assert.Equal(expected, ConfineExec.Elf.Interop.Libc.ExecutableBuildId());
    }
}
