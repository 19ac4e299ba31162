using System.Text;

namespace ConfineExec.Launcher.Output;

/// <summary>
/// A writer that creates its inner writer on the first write. A launch never writes to stdout, and the inner
/// <see cref="StreamWriter"/>'s char and byte buffers were most of a chroot-only launch's managed allocation
/// (80 of about 130 KB: the allocation contexts the GC clears and the pages that clearing faults in).
/// </summary>
internal sealed class LazyWriter(Func<TextWriter> create, Encoding encoding) : TextWriter
{
    private TextWriter? _inner;

    private TextWriter Inner => _inner ??= create();

    public override Encoding Encoding => encoding;
    public override void Write(char value) => Inner.Write(value);
    public override void Write(char[] buffer, int index, int count) => Inner.Write(buffer, index, count);
    public override void Write(ReadOnlySpan<char> buffer) => Inner.Write(buffer);
    public override void Write(string? value) => Inner.Write(value);
    public override void WriteLine(string? value) => Inner.WriteLine(value);
    public override void WriteLine(ReadOnlySpan<char> buffer) => Inner.WriteLine(buffer);

    /// <summary>Flushes only a writer that was created: nothing was written otherwise.</summary>
    public override void Flush() => _inner?.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner?.Dispose();
        base.Dispose(disposing);
    }
}
