using System.Text.Json;
using Gpff.IO;

namespace Gpff.Phases;

/// <summary>
/// Writes a hull result as JSON:
/// <c>{"pressure_gpa":…, "entries":[{"name":…, "formula":…, "stable":…,
/// "e_above_hull_ev_per_atom":…, "formation_enthalpy_ev_per_atom":…, "decomposition":[{"name":…,
/// "formula":…, "atom_fraction":…}], "p_stable":…}]}</c>, with <c>p_stable</c> only when a
/// stability report is given. Entries excluded from the hull are not listed.
/// </summary>
public static class HullJson
{
    /// <summary>Writes the JSON to a file (UTF-8, indented), atomically (<see cref="SafeFile.WriteAtomic"/>).</summary>
    /// <param name="path">File path; replaced only when the JSON is complete.</param>
    /// <param name="diagram">The hull.</param>
    /// <param name="stability">Stability probabilities, or null.</param>
    public static void Write(string path, PhaseDiagram diagram, StabilityReport? stability = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        SafeFile.WriteAtomic(path, stream => Write(stream, diagram, stability));
    }

    /// <summary>Writes the JSON to a stream (UTF-8, indented).</summary>
    /// <param name="stream">Destination.</param>
    /// <param name="diagram">The hull.</param>
    /// <param name="stability">Stability probabilities, or null.</param>
    public static void Write(Stream stream, PhaseDiagram diagram, StabilityReport? stability = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(diagram);
        if (stability is not null && !ReferenceEquals(stability.Diagram, diagram))
        {
            throw new ArgumentException("The stability report belongs to another phase diagram.", nameof(stability));
        }

        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("pressure_gpa", diagram.PressureGpa);
        w.WriteStartArray("entries");
        for (int i = 0; i < diagram.Entries.Count; i++)
        {
            var e = diagram.Entries[i];
            w.WriteStartObject();
            w.WriteString("name", e.Name);
            w.WriteString("formula", e.Entry.Composition.Formula);
            w.WriteBoolean("stable", e.IsStable);
            w.WriteNumber("e_above_hull_ev_per_atom", e.EnergyAboveHullEvPerAtom);
            w.WriteNumber("formation_enthalpy_ev_per_atom", e.FormationEnthalpyPerAtomEv);
            w.WriteStartArray("decomposition");
            foreach (var part in e.Decomposition)
            {
                w.WriteStartObject();
                w.WriteString("name", part.Entry.Name);
                w.WriteString("formula", part.Entry.Composition.Formula);
                w.WriteNumber("atom_fraction", part.AtomFraction);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (stability is not null)
            {
                w.WriteNumber("p_stable", stability.Entries[i].PStable);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
