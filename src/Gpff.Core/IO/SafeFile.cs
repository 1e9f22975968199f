using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Gpff.IO;

/// <summary>
/// The one way Gpff writes a file that a user may already hold: checks on an output path before any
/// work starts (<see cref="CheckOutput"/>), and an atomic write (<see cref="WriteAtomic"/>) that goes
/// to a hidden temporary file in the same folder, <c>.NAME.PID.GUID.tmp</c>, flushed to disk and
/// renamed over NAME only when complete. A failure or cancellation deletes the temporary file; a
/// process killed mid-write leaves it behind, and the next write to the same NAME removes every such
/// file whose PID is no longer running (<see cref="RemoveStaleTemporaries"/>), and nothing else.
/// </summary>
public static class SafeFile
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// Checks, before any work, that <paramref name="path"/> can be written as an output: its folder
    /// exists, it is not a folder itself, it is not read-only, the folder accepts a new file (probed
    /// with a temporary file that is removed at once), and it is not the same file as any of
    /// <paramref name="inputs"/> (full paths compared after resolving symbolic links).
    /// </summary>
    /// <param name="path">The output path as the user gave it.</param>
    /// <param name="inputs">Paths the same run reads (null entries are skipped).</param>
    /// <param name="what">How to name the output in messages (e.g. "-o", "--plot").</param>
    /// <returns>The full path of the output.</returns>
    /// <exception cref="ArgumentException">The output would overwrite an input, or names a folder.</exception>
    /// <exception cref="IOException">The folder does not exist or cannot be written.</exception>
    public static string CheckOutput(string path, IEnumerable<string?>? inputs = null, string what = "output")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ArgumentException($"{what} '{path}' is a folder; give a file name.");
        }

        string folder = Path.GetDirectoryName(full) ?? full;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{what} '{path}': the folder '{folder}' does not exist.");
        }

        foreach (var input in inputs ?? [])
        {
            if (!string.IsNullOrEmpty(input) && IsSameFile(path, input))
            {
                throw new ArgumentException($"{what} '{path}' is also an input ('{input}'); writing it would destroy that input. Choose another output name.");
            }
        }

        if (File.Exists(full) && File.GetAttributes(full).HasFlag(FileAttributes.ReadOnly))
        {
            throw new UnauthorizedAccessException($"{what} '{path}' is read-only.");
        }

        string probe = TemporaryPath(full);
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new UnauthorizedAccessException($"{what} '{path}': the folder '{folder}' cannot be written ({ex.Message}).", ex);
        }
        finally
        {
            TryDelete(probe);
        }

        return full;
    }

    /// <summary>
    /// True when two paths name the same file: equal full paths after resolving a symbolic link at
    /// the file and at its folder (case-insensitive on Windows and macOS), or, on Linux, two existing
    /// names with the same device and inode (hard links).
    /// </summary>
    /// <param name="a">One path.</param>
    /// <param name="b">The other path.</param>
    public static bool IsSameFile(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (string.Equals(Resolve(a), Resolve(b), PathComparison))
        {
            return true;
        }

        return FileIdentity.Of(a) is { } ia && FileIdentity.Of(b) is { } ib && ia == ib;
    }

    /// <summary>
    /// Writes a file atomically: <paramref name="write"/> fills a hidden temporary file
    /// (<c>.NAME.PID.GUID.tmp</c>) in the same folder, which is flushed to disk and renamed over
    /// <paramref name="path"/>. When <paramref name="write"/> throws (or the write is cancelled), the
    /// temporary file is deleted and <paramref name="path"/> is left as it was. Stale temporary files of
    /// the same NAME left by killed processes are removed first.
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="write">Writes the content to the stream (which it must not dispose early; it is disposed here).</param>
    /// <param name="cancellationToken">Checked before the rename, so a cancelled write never replaces the file.</param>
    public static void WriteAtomic(string path, Action<Stream> write, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        RemoveStaleTemporaries(full);
        string tmp = TemporaryPath(full);
        FileStream created;
        try
        {
            created = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CannotWrite(ex, path, full, tmp);
        }

        try
        {
            using (var stream = created)
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                File.Move(tmp, full, overwrite: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw CannotWrite(ex, path, full, tmp);
            }
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>The error of a failed create or rename, naming the file the caller asked for, not the temporary one.</summary>
    private static Exception CannotWrite(Exception ex, string path, string full, string tmp)
    {
        string reason = Directory.Exists(full) ? "it is a folder." : ex.Message.Replace(tmp, full, StringComparison.Ordinal);
        string message = $"Cannot write '{path}': {reason}";
        return ex switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, ex),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, ex),
            _ => new IOException(message, ex),
        };
    }

    /// <summary>
    /// Deletes the temporary files <c>.NAME.PID.GUID.tmp</c> of <paramref name="path"/> whose writing
    /// process (PID) is no longer running. Files of running processes, and every other file, are left alone.
    /// </summary>
    /// <param name="path">The output path whose leftovers to remove.</param>
    /// <returns>The number of files deleted.</returns>
    public static int RemoveStaleTemporaries(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder))
        {
            return 0;
        }

        var pattern = TemporaryPattern(Path.GetFileName(full));
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, "." + Path.GetFileName(full) + ".*.tmp").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (var candidate in candidates)
        {
            var m = pattern.Match(Path.GetFileName(candidate));
            if (m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != Environment.ProcessId && !IsRunning(pid) && TryDelete(candidate))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>A fresh temporary path for <paramref name="fullPath"/>: <c>.NAME.PID.GUID.tmp</c> in the same folder.</summary>
    /// <param name="fullPath">The destination, as a full path.</param>
    public static string TemporaryPath(string fullPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(fullPath);
        string full = Path.GetFullPath(fullPath);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>True when <paramref name="fileName"/> is a temporary file of output <paramref name="outputName"/> (file names, not paths).</summary>
    /// <param name="fileName">A file name.</param>
    /// <param name="outputName">The output's file name.</param>
    public static bool IsTemporaryOf(string fileName, string outputName) => TemporaryPattern(outputName).IsMatch(fileName);

    private static Regex TemporaryPattern(string name) =>
        new("^\\." + Regex.Escape(name) + "\\.([0-9]{1,10})\\.[0-9a-f]{32}\\.tmp$", RegexOptions.CultureInvariant);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return true; // cannot tell: assume it is alive and leave its file alone
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            string? folder = Path.GetDirectoryName(full);
            if (folder is not null && Directory.Exists(folder))
            {
                var d = new DirectoryInfo(folder);
                string realFolder = d.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? d.FullName;
                full = Path.Combine(realFolder, Path.GetFileName(full));
            }

            var f = new FileInfo(full);
            if (f.Exists && f.LinkTarget is not null)
            {
                full = f.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A link that cannot be followed: compare the path as given.
        }

        return Path.GetFullPath(full);
    }
}
