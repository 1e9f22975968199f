using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// A scope in which kernels keep the part of each covariance block that does not depend on their
/// hyperparameters, so that work that assembles the same covariance at many hyperparameters (a
/// hyperparameter fit, which evaluates its objective tens of times over the same training set) computes
/// that part once. The B2 kernel is σ² times a σ-independent block (<see cref="B2Kernel"/>), so inside a
/// scope each (row structure, column structure) block of it is computed once and rescaled afterwards.
/// <para>
/// Blocks are matched by the identity of the structures' environments and label selections (both
/// immutable) and of the kernel's fixed settings. Memory: the blocks held never exceed
/// <see cref="BudgetBytes"/> (further blocks are computed as without a scope); they are released when the
/// scope is disposed. Scopes flow into tasks and parallel loops started inside them (<see cref="AsyncLocal{T}"/>);
/// <see cref="Begin"/> inside a scope joins it. <see cref="Gpff.Kernels"/> users rarely need this
/// directly: the full GP's hyperparameter fit opens one.
/// </para>
/// Thread-safe.
/// </summary>
public sealed class KernelBlockCache : IDisposable
{
    private static readonly AsyncLocal<KernelBlockCache?> CurrentScope = new();

    private readonly ConcurrentDictionary<BlockKey, double[]> _blocks = new();
    private readonly bool _owner;
    private long _heldBytes;
    private bool _disposed;

    private KernelBlockCache(long budgetBytes, bool owner)
    {
        BudgetBytes = budgetBytes;
        _owner = owner;
    }

    /// <summary>
    /// The default budget of a scope and of the kernels' other σ-independent caches: an eighth of the
    /// memory available to the process, at most 1 GiB.
    /// </summary>
    public static long DefaultBudgetBytes => Math.Min(1L << 30, ResourceGuard.AvailableBytes / 8);

    /// <summary>The scope active on this thread or task, if any.</summary>
    internal static KernelBlockCache? Current => CurrentScope.Value;

    /// <summary>The most memory the scope's blocks may hold, in bytes.</summary>
    public long BudgetBytes { get; }

    /// <summary>The memory the scope's blocks hold now, in bytes.</summary>
    public long HeldBytes => Interlocked.Read(ref _heldBytes);

    /// <summary>How many blocks the scope holds now.</summary>
    public int BlockCount => _blocks.Count;

    /// <summary>
    /// Opens a scope on the current thread or task until the returned object is disposed; inside an
    /// active scope, joins it (disposing the returned object then leaves the outer scope open).
    /// </summary>
    /// <param name="budgetBytes">The most memory the blocks may hold (null: <see cref="DefaultBudgetBytes"/>).</param>
    /// <returns>The scope.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative budget.</exception>
    public static KernelBlockCache Begin(long? budgetBytes = null)
    {
        if (budgetBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, "The block cache's budget must be zero or more bytes.");
        }

        var outer = CurrentScope.Value;
        if (outer is not null)
        {
            return new KernelBlockCache(outer.BudgetBytes, owner: false) { Outer = outer };
        }

        var scope = new KernelBlockCache(budgetBytes ?? DefaultBudgetBytes, owner: true);
        CurrentScope.Value = scope;
        return scope;
    }

    /// <summary>The scope a joined handle stands for.</summary>
    private KernelBlockCache? Outer { get; init; }

    /// <summary>Closes the scope (a joined handle: nothing) and releases its blocks.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_owner)
        {
            return;
        }

        if (ReferenceEquals(CurrentScope.Value, this))
        {
            CurrentScope.Value = null;   // an owner is always the outermost scope
        }

        _blocks.Clear();
        Interlocked.Exchange(ref _heldBytes, 0);
    }

    /// <summary>
    /// The block for (<paramref name="settings"/>, rows of <paramref name="a"/>, columns of
    /// <paramref name="b"/>), computed by <paramref name="compute"/> when absent; kept when it fits the budget.
    /// </summary>
    internal double[] GetOrCompute(object settings, StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns, Func<double[]> compute)
    {
        var scope = Outer ?? this;
        var key = new BlockKey(settings, a, rows, b, columns);
        if (scope._blocks.TryGetValue(key, out var block))
        {
            return block;
        }

        block = compute();
        long bytes = 8L * block.Length + 64;
        if (!scope._disposed && Interlocked.Add(ref scope._heldBytes, bytes) <= scope.BudgetBytes)
        {
            if (!scope._blocks.TryAdd(key, block))
            {
                Interlocked.Add(ref scope._heldBytes, -bytes);   // another thread stored the same block first
            }
        }
        else
        {
            Interlocked.Add(ref scope._heldBytes, -bytes);
        }

        return block;
    }

    /// <summary>A block's identity: the kernel's fixed settings and the two sides, all by reference.</summary>
    private readonly struct BlockKey(object settings, StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns)
        : IEquatable<BlockKey>
    {
        private readonly object _settings = settings;
        private readonly StructureEnvironments _a = a;
        private readonly LabelSelection _rows = rows;
        private readonly StructureEnvironments _b = b;
        private readonly LabelSelection _columns = columns;

        public bool Equals(BlockKey other) => ReferenceEquals(_settings, other._settings) && ReferenceEquals(_a, other._a)
            && ReferenceEquals(_rows, other._rows) && ReferenceEquals(_b, other._b) && ReferenceEquals(_columns, other._columns);

        public override bool Equals(object? obj) => obj is BlockKey k && Equals(k);

        public override int GetHashCode() => HashCode.Combine(RuntimeHelpers.GetHashCode(_settings), RuntimeHelpers.GetHashCode(_a),
            RuntimeHelpers.GetHashCode(_rows), RuntimeHelpers.GetHashCode(_b), RuntimeHelpers.GetHashCode(_columns));
    }
}
