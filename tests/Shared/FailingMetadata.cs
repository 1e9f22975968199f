namespace Gpff.Testing;

/// <summary>
/// Provenance for a model file whose enumeration yields one entry and then throws: a save given it
/// stops in the middle of writing its header. Only enumeration is supported.
/// </summary>
internal sealed class FailingMetadata(Exception failure) : IReadOnlyDictionary<string, string>
{
    public int Count => 2;

    public IEnumerable<string> Keys => throw new NotSupportedException();

    public IEnumerable<string> Values => throw new NotSupportedException();

    public string this[string key] => throw new NotSupportedException();

    public bool ContainsKey(string key) => throw new NotSupportedException();

    public bool TryGetValue(string key, out string value) => throw new NotSupportedException();

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        yield return new("training_file", "x.extxyz");
        throw failure;
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
