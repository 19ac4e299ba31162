namespace ConfineExec.Elf.Tests.Reading;

/// <summary>Fixed-seed byte mutation: only <see cref="ElfFormatException"/> (or an IO error) may escape.
/// CONFINE_FUZZ_ITERATIONS overrides the iteration count per input (default 5,000).</summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("CONFINE_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : 5_000;

    public static TheoryData<string> ElfInputs => new() { "/bin/true", "/lib/x86_64-linux-gnu/libz.so.1", "writer32be", "writer64" };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(ElfInputs))]
    public async Task Read_MutatedElf_OnlyThrowsElfFormatException(string input)
    {
        byte[] original = input switch
        {
            "writer32be" => new TestElfWriter { Is64 = false, BigEndian = true, Machine = 20, Interpreter = "/lib/ld.so.1", Needed = ["liba.so", "libb.so"], RunPath = "/x" }.Build(),
            "writer64" => new TestElfWriter { Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = ["liba.so"], SoName = "libme.so", RPath = "$ORIGIN" }.Build(),
            _ when File.Exists(input) => File.ReadAllBytes(input),
            _ => null!,
        };
        if (original == null) Assert.Skip($"{input} not on this machine");
        string path = _dir.Write("fuzz", original);
        // Mutations land where the reader looks: the first 4 KiB (headers) and the PT_DYNAMIC/dynstr area.
        var dyn = ElfObject.Read(path);
        Assert.NotNull(dyn);
        int hot = Math.Min(original.Length, 4096);
        await Task.Run(() =>
        {
            var rng = new Random(12345);
            int rejected = 0;
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            Span<byte> saved = stackalloc byte[8];
            Span<int> at = stackalloc int[8];
            for (int i = 0; i < Iterations; i++)
            {
                int count = rng.Next(1, 9);
                for (int k = 0; k < count; k++)
                {
                    at[k] = rng.Next(4) == 0 ? rng.Next(original.Length) : rng.Next(hot);
                    saved[k] = original[at[k]];
                    byte b = rng.Next(3) switch { 0 => 0xff, 1 => (byte)rng.Next(256), _ => (byte)(original[at[k]] ^ (1 << rng.Next(8))) };
                    RandomAccess.Write(handle, new[] { b }, at[k]);
                }
                try { ElfObject.Read(handle, path); ElfObject.CheckCompatibility(handle, out _); }
                catch (ElfFormatException) { rejected++; }
                for (int k = count - 1; k >= 0; k--) RandomAccess.Write(handle, new[] { saved[k] }, at[k]);
            }
            output.WriteLine($"{input}: {Iterations} mutations, {rejected} rejected as ElfFormatException, none escaped otherwise");
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Parse_MutatedCache_OnlyThrowsElfFormatException()
    {
        if (!File.Exists("/etc/ld.so.cache")) Assert.Skip("no /etc/ld.so.cache");
        byte[] original = File.ReadAllBytes("/etc/ld.so.cache");
        await Task.Run(() =>
        {
            var rng = new Random(54321);
            var data = (byte[])original.Clone();
            int rejected = 0;
            string[] active = ["x86-64-v4", "x86-64-v3", "x86-64-v2"];
            for (int i = 0; i < Iterations; i++)
            {
                Array.Copy(original, data, original.Length);
                int len = rng.Next(10) == 0 ? rng.Next(original.Length) : original.Length;
                int count = rng.Next(1, 9);
                for (int k = 0; k < count; k++)
                {
                    // Headers, entries and the extension are where structure lives.
                    int pos = rng.Next(3) switch { 0 => rng.Next(Math.Min(64, len == 0 ? 1 : len)), 1 => rng.Next(Math.Max(1, Math.Min(len, 0x30 + 24 * 600))), _ => rng.Next(Math.Max(1, len)) };
                    if (pos < len) data[pos] = (byte)rng.Next(256);
                }
                try
                {
                    var c = LdSoCache.Parse(data.AsSpan(0, len), "fuzz.cache");
                    c.Lookup("libc.so.6", 0xf, active);
                    c.Lookup("libz.so.1", 0xf, active);
                }
                catch (ElfFormatException) { rejected++; }
            }
            output.WriteLine($"ld.so.cache: {Iterations} mutations, {rejected} rejected, none escaped otherwise");
        }, TestContext.Current.CancellationToken);
    }
}
