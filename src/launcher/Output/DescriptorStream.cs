using ConfineExec.Launcher.Interop;

namespace ConfineExec.Launcher.Output;

/// <summary>
/// Write-only stream over an inherited descriptor (stdout, stderr) that issues plain write(2) calls. A
/// FileStream over a seekable descriptor writes with pwrite at the offset it saw when it was created, so output
/// to a file shared with the caller (<c>{ confine-exec --version; echo x; } &gt; f</c>) was overwritten by the
/// caller's next write; write(2) advances the shared offset. It also skips FileStream's lseek probes.
/// </summary>
internal sealed class DescriptorStream(int fd) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Writes everything; a failure is an IOException whose HResult is the errno, as FileStream's.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            Libc.WriteAll(fd, buffer);
        }
        catch (SyscallException e)
        {
            throw new IOException(Libc.DescribeErrno(e.Errno), e.Errno);
        }
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
