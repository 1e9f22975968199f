using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Gpff.Geometry;

namespace Gpff.QuantumEspresso;

/// <summary>The contents of a pw.x data-file-schema.xml: one structure per ionic step and the final output.</summary>
/// <param name="SourceName">The file read.</param>
/// <param name="Calculation">The run type from the input section ("scf", "relax", "vc-relax", …).</param>
/// <param name="Steps">One structure per &lt;step&gt; (BFGS or MD step): energy, forces, geometry; the schema stores no per-step stress.</param>
/// <param name="Output">The &lt;output&gt; section: geometry, forces and (when computed) stress of the last step written.</param>
public sealed record PwXmlResult(string SourceName, string Calculation, IReadOnlyList<Structure> Steps, Structure Output);

/// <summary>
/// Reads pw.x's XML data file (data-file-schema.xml, QEXSD format; Hartree atomic units at full
/// precision) into structures in eV, Å, eV/Å and eV/Å³ (ASE's stress sign), with the same constants
/// choice as <see cref="PwOutput"/> (pw.x version in &lt;creator&gt;).
/// </summary>
/// <remarks>
/// For <c>vc-relax</c> (and <c>vc-md</c>) pw.x 6.7 writes the enthalpy E + PV of the last BFGS step
/// into &lt;output&gt;/&lt;total_energy&gt;/&lt;etot&gt;, not the energy, and the file holds the last BFGS
/// step, not the closing SCF that the text output shows after it. So for those runs the output
/// structure has no <see cref="Structure.EnergyEv"/>; the value is kept as <c>qe_enthalpy_ev</c>.
/// </remarks>
public static class PwXml
{
    /// <summary>
    /// The most characters <see cref="Read"/> accepts in a document (64 Mi; a pw.x data file of a few hundred
    /// atoms and k-points holds a few Mi). Document type definitions (and so entity expansion) are refused.
    /// </summary>
    public const long MaxCharacters = 1L << 26;

    /// <summary>One line for a reader error, without .NET's advice on reader settings and without the position repeated.</summary>
    private static string Describe(XmlException ex)
    {
        string m = string.Join(' ', ex.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
        if (m.Contains("DTD", StringComparison.Ordinal))
        {
            return "a document type declaration (<!DOCTYPE>) is not allowed in a pw.x data file";
        }

        if (m.Contains(nameof(XmlReaderSettings.MaxCharactersInDocument), StringComparison.Ordinal))
        {
            return $"the document is longer than {MaxCharacters} characters; this is not a pw.x data file";
        }

        m = Regex.Replace(m, @"\s*Line \d+, position \d+\.$", "");
        bool ended = m.Contains("end of file", StringComparison.OrdinalIgnoreCase) || m.Contains("Root element is missing", StringComparison.Ordinal);
        return $"not well-formed XML: {m}{(ended ? " (truncated or empty file?)" : "")}";
    }

    private static string Clip(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");

    /// <summary>Reads a data-file-schema.xml.</summary>
    /// <param name="path">The XML file.</param>
    /// <param name="units">Constants; null picks them from the pw.x version in &lt;creator&gt;.</param>
    /// <exception cref="PwOutputException">Malformed, incomplete or non-XML file, a non-finite number, or a document longer than
    /// <see cref="MaxCharacters"/> (one line that names the file, line and element).</exception>
    public static PwXmlResult Read(string path, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"pw.x XML file '{path}' does not exist.", path);
        }

        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxCharacters,
            MaxCharactersFromEntities = 1024,
            IgnoreComments = true,
        };
        XDocument doc;
        try
        {
            using var xml = XmlReader.Create(path, settings);
            doc = XDocument.Load(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException ex)
        {
            throw new PwOutputException(PwFailureKind.Malformed, path, null, ex.LineNumber > 0 ? ex.LineNumber : null, Describe(ex));
        }

        var root = doc.Root!;
        if (root.Name.LocalName != "espresso")
        {
            throw new PwOutputException(PwFailureKind.Malformed, path, null, ((IXmlLineInfo)root).LineNumber, $"the root element is <{root.Name.LocalName}>, not <qes:espresso>; this is not a pw.x data-file-schema.xml");
        }

        PwOutputException Bad(XObject? at, string what)
        {
            int? line = at is IXmlLineInfo li && li.HasLineInfo() ? li.LineNumber : null;
            return new(PwFailureKind.Malformed, path, null, line, what);
        }

        string? version = root.Descendants("creator").FirstOrDefault()?.Attribute("VERSION")?.Value;
        units ??= version is null ? PwUnits.Codata2006 : PwUnits.ForVersion(version);
        double ha = 2 * units.RydbergEv;
        double bohr = units.BohrA;
        string calculation = root.Element("input")?.Element("control_variables")?.Element("calculation")?.Value.Trim() ?? "scf";

        double[] Numbers(XElement e, int count, string what)
        {
            var v = e.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                .Select(t => !double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? throw Bad(e, $"{what}: '{Clip(t)}' is not a number")
                    : double.IsFinite(x) ? x : throw Bad(e, $"{what}: '{Clip(t)}' is not a finite number"))
                .ToArray();
            return v.Length == count ? v : throw Bad(e, $"{what}: expected {count} numbers, found {v.Length}");
        }

        Structure Geometry(XElement parent, string where)
        {
            var ast = parent.Element("atomic_structure") ?? throw Bad(parent, $"{where} has no <atomic_structure>");
            var atoms = ast.Element("atomic_positions")?.Elements("atom").ToList() ?? throw Bad(ast, $"{where}: no <atomic_positions>");
            var cellEl = ast.Element("cell") ?? throw Bad(ast, $"{where}: no <cell>");
            Vec3 Row(string n)
            {
                var e = cellEl.Element(n) ?? throw Bad(cellEl, $"{where}: no <{n}>");
                var v = Numbers(e, 3, $"{where} <{n}>");
                return bohr * new Vec3(v[0], v[1], v[2]);
            }

            var cell = Mat3.FromRows(Row("a1"), Row("a2"), Row("a3"));
            var symbols = new string[atoms.Count];
            var pos = new Vec3[atoms.Count];
            for (int i = 0; i < atoms.Count; i++)
            {
                string label = atoms[i].Attribute("name")?.Value ?? throw Bad(atoms[i], $"{where}: atom {i + 1} has no name");
                symbols[i] = PwOutput.TryLabelToSymbol(label, out var s) ? s : throw Bad(atoms[i], $"{where}: species '{label}' names no element");
                var v = Numbers(atoms[i], 3, $"{where} atom {i + 1}");
                pos[i] = bohr * new Vec3(v[0], v[1], v[2]);
            }

            return new Structure(symbols, pos, cell, Pbc.All);
        }

        void Labels(Structure s, XElement parent, string where, bool energyIsEnthalpy)
        {
            if (parent.Element("total_energy")?.Element("etot") is { } etot)
            {
                double e = Numbers(etot, 1, $"{where} <etot>")[0] * ha;
                if (energyIsEnthalpy)
                {
                    s.Info["qe_enthalpy_ev"] = e;
                }
                else
                {
                    s.EnergyEv = e;
                }
            }

            if (parent.Element("forces") is { } f)
            {
                var v = Numbers(f, 3 * s.AtomCount, $"{where} <forces>");
                double k = ha / bohr;
                s.ForcesEvPerA = Enumerable.Range(0, s.AtomCount).Select(i => k * new Vec3(v[3 * i], v[3 * i + 1], v[3 * i + 2])).ToArray();
            }

            if (parent.Element("stress") is { } st)
            {
                var v = Numbers(st, 9, $"{where} <stress>");
                // Fortran (column-major) order; pw.x's sign is positive = compressive.
                var m = new Mat3(v[0], v[3], v[6], v[1], v[4], v[7], v[2], v[5], v[8]);
                s.StressEvPerA3 = Voigt.FromMatrix(-(ha / (bohr * bohr * bohr)) * m);
            }

            if (parent.Element("scf_conv")?.Element("convergence_achieved") is { } conv && conv.Value.Trim() != "true")
            {
                throw new PwOutputException(PwFailureKind.NotConverged, path, null, ((IXmlLineInfo)conv).LineNumber, $"{where}: convergence_achieved is {conv.Value.Trim()}");
            }

            s.Info["source"] = path;
            s.Info["qe_calculation"] = calculation;
            if (version is not null)
            {
                s.Info["qe_version"] = version;
            }

            s.Info["qe_units"] = units.Name;
        }

        var steps = new List<Structure>();
        foreach (var step in root.Elements("step"))
        {
            string where = $"<step n_step=\"{step.Attribute("n_step")?.Value}\">";
            var s = Geometry(step, where);
            Labels(s, step, where, energyIsEnthalpy: false);
            s.Info["qe_ionic_step"] = (long)steps.Count;
            steps.Add(s);
        }

        var outputEl = root.Element("output") ?? throw Bad(root, "no <output> section (the run did not finish writing)");
        var output = Geometry(outputEl, "<output>");
        Labels(output, outputEl, "<output>", energyIsEnthalpy: calculation is "vc-relax" or "vc-md");
        return new PwXmlResult(path, calculation, steps, output);
    }
}
