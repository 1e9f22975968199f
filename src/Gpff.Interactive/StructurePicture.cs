using System.Text;
using Gpff.Geometry;

namespace Gpff.Interactive;

/// <summary>
/// A picture of a structure as SVG: the cell's twelve edges and the atoms as discs coloured by element,
/// in an orthographic view turned 30° about z and tilted 20° about x, drawn back to front.
/// </summary>
public static class StructurePicture
{
    private static readonly Dictionary<int, string> Colours = new()
    {
        [1] = "#dddddd", [3] = "#cc80ff", [6] = "#555555", [7] = "#3050f8", [8] = "#ff0d0d", [9] = "#90e050",
        [11] = "#ab5cf2", [12] = "#8aff00", [13] = "#bfa6a6", [14] = "#f0c8a0", [15] = "#ff8000", [16] = "#e6c619",
        [17] = "#1ff01f", [19] = "#8f40d4", [20] = "#3dff00", [22] = "#bfc2c7", [26] = "#e06633", [27] = "#f090a0",
        [28] = "#50d050", [29] = "#c88033", [30] = "#7d80b0", [38] = "#00ff00", [45] = "#0a7d8c", [46] = "#006985",
        [47] = "#c0c0c0", [56] = "#00c900", [78] = "#d0d0e0", [79] = "#ffd123",
    };

    /// <summary>The colour of an element in pictures (CPK/Jmol-like where known, a hue from Z otherwise).</summary>
    /// <param name="atomicNumber">Atomic number.</param>
    public static string Colour(int atomicNumber) =>
        Colours.TryGetValue(atomicNumber, out var c) ? c : $"hsl({atomicNumber * 47 % 360},60%,50%)";

    /// <summary>The SVG picture of a structure.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="sizePx">Width and height of the picture in pixels.</param>
    public static string Svg(Structure structure, int sizePx = 260)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentOutOfRangeException.ThrowIfLessThan(sizePx, 50);
        double cz = Math.Cos(Math.PI / 6), sz = Math.Sin(Math.PI / 6), cx = Math.Cos(-Math.PI / 9), sx = Math.Sin(-Math.PI / 9);
        Vec3 View(Vec3 p)
        {
            var r = new Vec3(cz * p.X - sz * p.Y, sz * p.X + cz * p.Y, p.Z);
            return new Vec3(r.X, cx * r.Y - sx * r.Z, sx * r.Y + cx * r.Z); // (screen x, depth, screen y)
        }

        var cell = structure.Cell;
        var corners = new List<Vec3>();
        for (int i = 0; i < 8; i++)
        {
            corners.Add(View(((i & 1) * cell.Row0) + ((i >> 1 & 1) * cell.Row1) + ((i >> 2 & 1) * cell.Row2)));
        }

        var atoms = structure.Positions.Select((p, i) => (P: View(p), Z: structure.AtomicNumbers[i], Symbol: structure.Symbol(i))).ToList();
        var all = corners.Concat(atoms.Select(a => a.P)).ToList();
        double minX = all.Min(p => p.X), maxX = all.Max(p => p.X), minY = all.Min(p => p.Z), maxY = all.Max(p => p.Z);
        double span = Math.Max(Math.Max(maxX - minX, maxY - minY), 1e-6);
        double margin = 0.08 * sizePx, scale = (sizePx - 2 * margin) / span;
        double radius = Math.Clamp(scale * 0.35, 2, 0.06 * sizePx);
        (double X, double Y) Screen(Vec3 v) =>
            (margin + (v.X - minX) * scale + (sizePx - 2 * margin - (maxX - minX) * scale) / 2,
             sizePx - margin - (v.Z - minY) * scale - (sizePx - 2 * margin - (maxY - minY) * scale) / 2);

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{sizePx}\" height=\"{sizePx}\" viewBox=\"0 0 {sizePx} {sizePx}\">");
        sb.Append($"<title>{Html.E(structure.HillFormula())}</title>");
        for (int i = 0; i < 8; i++)
        {
            for (int bit = 0; bit < 3; bit++)
            {
                int j = i | (1 << bit);
                if (j != i && structure.VolumeA3 > 0)
                {
                    var (x1, y1) = Screen(corners[i]);
                    var (x2, y2) = Screen(corners[j]);
                    sb.Append(string.Create(Html.Inv, $"<line x1=\"{x1:F1}\" y1=\"{y1:F1}\" x2=\"{x2:F1}\" y2=\"{y2:F1}\" stroke=\"#888\" stroke-width=\"1\"/>"));
                }
            }
        }

        foreach (var a in atoms.OrderByDescending(a => a.P.Y))
        {
            var (x, y) = Screen(a.P);
            sb.Append(string.Create(Html.Inv, $"<circle cx=\"{x:F1}\" cy=\"{y:F1}\" r=\"{radius:F1}\" fill=\"{Colour(a.Z)}\" stroke=\"#333\" stroke-width=\"0.7\"><title>{a.Symbol}</title></circle>"));
        }

        sb.Append("</svg>");
        return sb.ToString();
    }
}
