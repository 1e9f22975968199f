namespace Gpff.Testing;

/// <summary>
/// Every file of a folder (hidden ones and sub-folders included) with its bytes, taken before a write
/// that must fail, and compared after it: the previous files byte-identical, nothing added (no
/// temporary file left behind), nothing removed. Compiled into every test project (Directory.Build.props).
/// </summary>
internal sealed class FolderSnapshot
{
    private readonly string _folder;
    private readonly SortedDictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    private FolderSnapshot(string folder)
    {
        _folder = folder;
        foreach (var f in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            _files[Path.GetRelativePath(folder, f)] = File.ReadAllBytes(f);
        }
    }

    /// <summary>The files of <paramref name="folder"/> now.</summary>
    public static FolderSnapshot Take(string folder) => new(folder);

    /// <summary>Fails, naming the files, unless the folder holds exactly the same files with the same bytes.</summary>
    public void AssertUnchanged()
    {
        var now = Take(_folder)._files;
        var added = now.Keys.Except(_files.Keys).ToList();
        var removed = _files.Keys.Except(now.Keys).ToList();
        var changed = _files.Keys.Intersect(now.Keys).Where(k => !_files[k].AsSpan().SequenceEqual(now[k])).ToList();
        Xunit.Assert.True(added.Count + removed.Count + changed.Count == 0,
            $"{_folder} changed: added [{string.Join(", ", added)}], removed [{string.Join(", ", removed)}], changed [{string.Join(", ", changed)}]");
    }
}
