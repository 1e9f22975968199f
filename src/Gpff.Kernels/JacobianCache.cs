using System.Runtime.CompilerServices;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// Per-structure data that depends only on the structure's environments and a label selection, not on
/// the hyperparameters (e.g. the B2 kernel's label Jacobians), kept between covariance calls so that an
/// assembly that visits every (row, column) structure pair builds each structure's data once instead of
/// once per pair, and a hyperparameter fit builds it once for all its evaluations (kernels made by
/// <see cref="IKernel.WithHyperparameters"/> share the cache).
/// <para>
/// Two tiers: the <see cref="RecentCapacity"/> most recently used entries (the row structure that the
/// assembly engine pairs with many columns), and entries kept while their total size stays within the
/// budget (<see cref="KernelBlockCache.DefaultBudgetBytes"/>), so that data larger than the budget is partly kept instead
/// of thrashing a least-recently-used list. Structures and selections are held weakly: an entry goes
/// when either is collected, so memory follows the data a caller still holds. The label Jacobians are
/// (3·touched atoms + 6)·D values per environment: for the bundled Ba–Rh–O training set (39 structures,
/// 212 atoms) the kept tier holds 54 MiB (D = 1,200).
/// </para>
/// Thread-safe; concurrent requests for the same entry build it once.
/// </summary>
/// <typeparam name="T">The cached data.</typeparam>
internal sealed class JacobianCache<T>
    where T : class
{
    /// <summary>How many recently used entries are kept whatever their size (a few per thread).</summary>
    public static readonly int RecentCapacity = Math.Max(4, 2 * Environment.ProcessorCount);

    private readonly Func<T, long> _sizeBytes;
    private readonly long _budgetBytes;
    private readonly List<Entry> _recent = [];
    private readonly Dictionary<(int Environments, int Selection), List<Entry>> _kept = [];
    private long _keptBytes;
    private int _prunedAtCollection = -1;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="sizeBytes">The memory an entry holds, in bytes.</param>
    /// <param name="budgetBytes">Budget of the kept tier in bytes (null: <see cref="KernelBlockCache.DefaultBudgetBytes"/>; 0: recent entries only).</param>
    public JacobianCache(Func<T, long> sizeBytes, long? budgetBytes = null)
    {
        _sizeBytes = sizeBytes;
        _budgetBytes = Math.Max(0, budgetBytes ?? KernelBlockCache.DefaultBudgetBytes);
    }

    /// <summary>Bytes held by the kept tier now.</summary>
    public long KeptBytes
    {
        get
        {
            lock (_recent)
            {
                return _keptBytes;
            }
        }
    }

    /// <summary>Entries in the kept tier now.</summary>
    public int KeptCount
    {
        get
        {
            lock (_recent)
            {
                return _kept.Values.Sum(l => l.Count);
            }
        }
    }

    /// <summary>
    /// The entry for (<paramref name="environments"/>, <paramref name="selection"/>), built by
    /// <paramref name="create"/> when absent (selections are matched by reference).
    /// </summary>
    public T Get(StructureEnvironments environments, LabelSelection selection, Func<T> create)
    {
        var key = (RuntimeHelpers.GetHashCode(environments), RuntimeHelpers.GetHashCode(selection));
        Entry? entry = null;
        bool created = false;
        lock (_recent)
        {
            if (_kept.TryGetValue(key, out var list))
            {
                entry = list.Find(e => e.Matches(environments, selection));
            }

            if (entry is null)
            {
                int hit = _recent.FindIndex(e => e.Matches(environments, selection));
                if (hit >= 0)
                {
                    entry = _recent[hit];
                    _recent.RemoveAt(hit);
                }
                else
                {
                    entry = new Entry(environments, selection, new Lazy<T>(create, LazyThreadSafetyMode.ExecutionAndPublication));
                    created = true;
                }

                _recent.Add(entry);
                if (_recent.Count > RecentCapacity)
                {
                    _recent.RemoveAt(0);
                }
            }
        }

        var value = entry.Value.Value;
        if (created && _budgetBytes > 0)
        {
            Keep(key, entry, _sizeBytes(value));
        }

        return value;
    }

    private void Keep((int, int) key, Entry entry, long bytes)
    {
        lock (_recent)
        {
            PruneCollected();
            if (_keptBytes + bytes > _budgetBytes)
            {
                return;
            }

            if (!_kept.TryGetValue(key, out var list))
            {
                _kept[key] = list = [];
            }

            list.Add(entry);
            entry.Bytes = bytes;
            _keptBytes += bytes;
        }
    }

    /// <summary>
    /// Drops kept entries whose structure or selection was collected, at most once per garbage collection
    /// (before each insertion, so that a stream of short-lived structures, e.g. the steps of an MD run,
    /// holds no more than what two collections leave).
    /// </summary>
    private void PruneCollected()
    {
        int collections = GC.CollectionCount(0);
        if (collections == _prunedAtCollection)
        {
            return;
        }

        _prunedAtCollection = collections;
        foreach (var (key, list) in _kept.ToArray())
        {
            foreach (var dead in list.Where(e => !e.IsAlive).ToArray())
            {
                list.Remove(dead);
                _keptBytes -= dead.Bytes;
            }

            if (list.Count == 0)
            {
                _kept.Remove(key);
            }
        }
    }

    private sealed class Entry(StructureEnvironments environments, LabelSelection selection, Lazy<T> value)
    {
        private readonly WeakReference<StructureEnvironments> _environments = new(environments);
        private readonly WeakReference<LabelSelection> _selection = new(selection);

        public Lazy<T> Value { get; } = value;

        public long Bytes { get; set; }

        public bool IsAlive => _environments.TryGetTarget(out _) && _selection.TryGetTarget(out _);

        public bool Matches(StructureEnvironments environments, LabelSelection selection)
            => _environments.TryGetTarget(out var e) && ReferenceEquals(e, environments)
            && _selection.TryGetTarget(out var s) && ReferenceEquals(s, selection);
    }
}
