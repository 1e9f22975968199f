using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gpff.Kernels;

/// <summary>A minimal SIMD vector abstraction so that one inner loop serves Vector512 and Vector256 hardware.</summary>
/// <typeparam name="TSelf">The implementing vector type.</typeparam>
internal interface ISimd<TSelf>
    where TSelf : struct, ISimd<TSelf>
{
    static abstract int Count { get; }

    static abstract TSelf Load(double[] source, int offset);

    /// <summary>Writes the lanes to target[offset …].</summary>
    void Store(double[] target, int offset);

    /// <summary>Loads the lanes at source + offset without a bounds check (the caller guarantees the range).</summary>
    static abstract TSelf LoadAt(ref double source, nint offset);

    /// <summary>Writes the lanes to target + offset without a bounds check (the caller guarantees the range).</summary>
    void StoreAt(ref double target, nint offset);

    static abstract TSelf Create(double value);

    static abstract TSelf LaneIndex();

    static abstract TSelf operator +(TSelf a, TSelf b);

    static abstract TSelf operator -(TSelf a, TSelf b);

    static abstract TSelf operator *(TSelf a, TSelf b);

    static abstract TSelf operator /(TSelf a, TSelf b);

    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>a·b + c.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Exp(TSelf x);

    /// <summary>x where a &lt; b lane-wise, 0 elsewhere.</summary>
    static abstract TSelf KeepWhereLess(TSelf x, TSelf a, TSelf b);

    static abstract double Sum(TSelf x);

    /// <summary>(Σ a, Σ b, Σ c, Σ d): four lane sums at once.</summary>
    static abstract Vector256<double> Sum4(TSelf a, TSelf b, TSelf c, TSelf d);
}

internal readonly struct V512(Vector512<double> v) : ISimd<V512>
{
    private readonly Vector512<double> _v = v;

    public static int Count => Vector512<double>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Load(double[] source, int offset) => new(Vector512.LoadUnsafe(ref source[0], (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(double[] target, int offset) => _v.StoreUnsafe(ref target[0], (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 LoadAt(ref double source, nint offset) => new(Vector512.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreAt(ref double target, nint offset) => _v.StoreUnsafe(ref target, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Create(double value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 LaneIndex() => new(Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator +(V512 a, V512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator -(V512 a, V512 b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator *(V512 a, V512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 operator /(V512 a, V512 b) => new(a._v / b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Max(V512 a, V512 b) => new(Vector512.Max(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Fma(V512 a, V512 b, V512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Exp(V512 x) => new(Vector512.Exp(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 KeepWhereLess(V512 x, V512 a, V512 b) => new(x._v & Vector512.LessThan(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum(V512 x) => Vector512.Sum(x._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Sum4(V512 a, V512 b, V512 c, V512 d) =>
        V256.Sum4(new(a._v.GetLower() + a._v.GetUpper()), new(b._v.GetLower() + b._v.GetUpper()), new(c._v.GetLower() + c._v.GetUpper()), new(d._v.GetLower() + d._v.GetUpper()));
}

internal readonly struct V256(Vector256<double> v) : ISimd<V256>
{
    private readonly Vector256<double> _v = v;

    public static int Count => Vector256<double>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Load(double[] source, int offset) => new(Vector256.LoadUnsafe(ref source[0], (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(double[] target, int offset) => _v.StoreUnsafe(ref target[0], (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 LoadAt(ref double source, nint offset) => new(Vector256.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreAt(ref double target, nint offset) => _v.StoreUnsafe(ref target, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Create(double value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 LaneIndex() => new(Vector256.Create(0.0, 1, 2, 3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 operator +(V256 a, V256 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 operator -(V256 a, V256 b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 operator *(V256 a, V256 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 operator /(V256 a, V256 b) => new(a._v / b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Max(V256 a, V256 b) => new(Vector256.Max(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Fma(V256 a, V256 b, V256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Exp(V256 x) => new(Vector256.Exp(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 KeepWhereLess(V256 x, V256 a, V256 b) => new(x._v & Vector256.LessThan(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Sum(V256 x) => Vector256.Sum(x._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Sum4(V256 a, V256 b, V256 c, V256 d)
    {
        if (Avx.IsSupported)
        {
            // (a0+a1, b0+b1, a2+a3, b2+b3) and the same for c, d; then the two 128-bit halves added crosswise.
            var ab = Avx.HorizontalAdd(a._v, b._v);
            var cd = Avx.HorizontalAdd(c._v, d._v);
            return Avx.Permute2x128(ab, cd, 0x20) + Avx.Permute2x128(ab, cd, 0x31);
        }

        return Vector256.Create(Vector256.Sum(a._v), Vector256.Sum(b._v), Vector256.Sum(c._v), Vector256.Sum(d._v));
    }
}

/// <summary>
/// SIMD operations on a raw vector type (<see cref="Vector256{T}"/>, <see cref="Vector512{T}"/>) for the hottest loops:
/// through the <see cref="ISimd{TSelf}"/> wrapper structs the JIT (.NET 10) writes about every second FMA's sum into the
/// register of an operand that dies and copies it back, on the raw vectors it accumulates in place.
/// </summary>
/// <typeparam name="TVec">The vector type.</typeparam>
internal interface IVectorOps<TVec>
    where TVec : struct
{
    static abstract int Count { get; }

    /// <summary>Loads the lanes at source + offset without a bounds check (the caller guarantees the range).</summary>
    static abstract TVec LoadAt(ref double source, nint offset);

    /// <summary>Writes the lanes to target + offset without a bounds check (the caller guarantees the range).</summary>
    static abstract void StoreAt(TVec value, ref double target, nint offset);

    static abstract TVec Create(double value);

    static abstract TVec Add(TVec a, TVec b);

    static abstract TVec Subtract(TVec a, TVec b);

    static abstract TVec Multiply(TVec a, TVec b);

    /// <summary>a·b + c.</summary>
    static abstract TVec Fma(TVec a, TVec b, TVec c);

    /// <summary>(0, 1, 2, …): the lane numbers.</summary>
    static abstract TVec LaneIndex();

    static abstract TVec Exp(TVec x);

    /// <summary>x where a &lt; b lane-wise, 0 elsewhere.</summary>
    static abstract TVec KeepWhereLess(TVec x, TVec a, TVec b);

    /// <summary>(Σ a, Σ b, Σ c, Σ d): four lane sums at once.</summary>
    static abstract Vector256<double> Sum4(TVec a, TVec b, TVec c, TVec d);
}

/// <summary><see cref="IVectorOps{TVec}"/> on <see cref="Vector256{T}"/>.</summary>
internal readonly struct Ops256 : IVectorOps<Vector256<double>>
{
    public static int Count => Vector256<double>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> LoadAt(ref double source, nint offset) => Vector256.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAt(Vector256<double> value, ref double target, nint offset) => value.StoreUnsafe(ref target, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Create(double value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Fma(Vector256<double> a, Vector256<double> b, Vector256<double> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Subtract(Vector256<double> a, Vector256<double> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Multiply(Vector256<double> a, Vector256<double> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> LaneIndex() => Vector256.Create(0.0, 1, 2, 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Exp(Vector256<double> x) => Vector256.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> KeepWhereLess(Vector256<double> x, Vector256<double> a, Vector256<double> b) => x & Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Sum4(Vector256<double> a, Vector256<double> b, Vector256<double> c, Vector256<double> d) => V256.Sum4(new(a), new(b), new(c), new(d));
}

/// <summary><see cref="IVectorOps{TVec}"/> on <see cref="Vector512{T}"/>.</summary>
internal readonly struct Ops512 : IVectorOps<Vector512<double>>
{
    public static int Count => Vector512<double>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> LoadAt(ref double source, nint offset) => Vector512.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAt(Vector512<double> value, ref double target, nint offset) => value.StoreUnsafe(ref target, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Create(double value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Fma(Vector512<double> a, Vector512<double> b, Vector512<double> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Subtract(Vector512<double> a, Vector512<double> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Multiply(Vector512<double> a, Vector512<double> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> LaneIndex() => Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Exp(Vector512<double> x) => Vector512.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> KeepWhereLess(Vector512<double> x, Vector512<double> a, Vector512<double> b) => x & Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Sum4(Vector512<double> a, Vector512<double> b, Vector512<double> c, Vector512<double> d) => V512.Sum4(new(a), new(b), new(c), new(d));
}

/// <summary>Which SIMD width the kernels use on this machine.</summary>
internal static class SimdSupport
{
    /// <summary>
    /// Vector512 where the hardware accelerates it, Vector256 otherwise. Tests call the generic kernel
    /// paths with each width explicitly (V512 runs emulated, but correct, on hardware without AVX-512).
    /// </summary>
    public static readonly bool Use512 = Vector512.IsHardwareAccelerated;
}

/// <summary>Whether a kernel pass carries the hyperparameter-derivative rows, as a type constant, so that the JIT compiles each variant on its own (fewer live values, no branch in the inner loop).</summary>
internal interface IGradientFlag
{
    static abstract bool On { get; }
}

/// <summary>Values only.</summary>
internal readonly struct ValuesOnly : IGradientFlag
{
    public static bool On => false;
}

/// <summary>Values and hyperparameter derivatives.</summary>
internal readonly struct WithGradients : IGradientFlag
{
    public static bool On => true;
}
