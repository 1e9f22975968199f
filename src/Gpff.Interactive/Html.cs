using System.Globalization;
using System.Net;
using System.Text;

namespace Gpff.Interactive;

/// <summary>Small HTML helpers shared by the formatters: encoding, numbers in the invariant culture, tables.</summary>
internal static class Html
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>HTML-encodes text.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>A number with a format, "–" for NaN (a quantity without labels).</summary>
    public static string N(double x, string format) => double.IsNaN(x) ? "–" : x.ToString(format, Inv);

    /// <summary>A value ± its standard deviation, or the value alone when the σ is absent or NaN.</summary>
    public static string Pm(double x, double? std, string format) =>
        std is double s && !double.IsNaN(s) ? $"{N(x, format)} ± {N(s, format)}" : N(x, format);

    /// <summary>Writes a table: a header row and body rows, cells already HTML (encode text with <see cref="E"/>).</summary>
    public static void Table(StringBuilder sb, IEnumerable<string> header, IEnumerable<IEnumerable<string>> rows, string? caption = null)
    {
        sb.Append("<table class=\"gpff\">");
        if (caption is not null)
        {
            sb.Append("<caption style=\"text-align:left\">").Append(caption).Append("</caption>");
        }

        sb.Append("<thead><tr>");
        foreach (var h in header)
        {
            sb.Append("<th>").Append(h).Append("</th>");
        }

        sb.Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var c in row)
            {
                sb.Append("<td style=\"text-align:right\">").Append(c).Append("</td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</tbody></table>");
    }

    /// <summary>An inline PNG image.</summary>
    public static string Png(byte[] png, string alt) =>
        $"<img alt=\"{E(alt)}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"/>";
}
