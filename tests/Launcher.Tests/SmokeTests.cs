namespace ConfineExec.Launcher.Tests;

public class SmokeTests
{
    [Fact]
    public void ElfMagic_OnBinTrue_IsDetected()
    {
        var head = File.ReadAllBytes("/bin/true").AsSpan(0, 4);
        Assert.True(ConfineExec.Elf.ElfObject.HasElfMagic(head));
    }
}
