using System.Runtime.InteropServices;

namespace Gpff.IO;

/// <summary>
/// The identity of a file on Linux: its device and inode, read with <c>statx(2)</c>, so that two names
/// of one file (hard links, which <see cref="FileSystemInfo.ResolveLinkTarget"/> cannot see) compare
/// equal. Elsewhere, or where the call is not available (a C library without <c>statx</c>, a kernel
/// older than 4.11), the identity is unknown and callers compare resolved paths only.
/// </summary>
internal static partial class FileIdentity
{
    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;

    // struct statx has one layout on every Linux architecture (include/uapi/linux/stat.h): 256 bytes,
    // stx_ino at offset 32, stx_dev_major and stx_dev_minor at offsets 136 and 140.
    private const int StatxSize = 256;
    private const int InoOffset = 32;
    private const int DevMajorOffset = 136;
    private const int DevMinorOffset = 140;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>The (device major, device minor, inode) of <paramref name="path"/> after following links, or null when unknown (not Linux, no such file, no statx).</summary>
    /// <param name="path">A file path.</param>
    public static unsafe (uint DevMajor, uint DevMinor, ulong Inode)? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        byte* buffer = stackalloc byte[StatxSize];
        try
        {
            if (Statx(AtFdCwd, Path.GetFullPath(path), 0, StatxIno, buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }

        uint returnedMask = *(uint*)buffer;
        if ((returnedMask & StatxIno) == 0)
        {
            return null;
        }

        return (*(uint*)(buffer + DevMajorOffset), *(uint*)(buffer + DevMinorOffset), *(ulong*)(buffer + InoOffset));
    }
}
