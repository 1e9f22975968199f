using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// Reads and writes kernel definitions as JSON (System.Text.Json), for model files. Example:
/// <code>
/// {"type":"sum","parts":[
///   {"type":"two-body","cutoffA":5.0,"cutoffFunction":"quadratic","sigmaEv":1.2,"lengthA":0.6,"groups":[]},
///   {"type":"three-body","cutoffA":3.5,"cutoffFunction":"quadratic","sigmaEv":0.1,"lengthA":0.9,
///    "groups":[{"members":["Rh-O-O"],"sigmaEv":0.2,"lengthA":0.7}]}]}
/// </code>
/// Errors name the JSON path of what is wrong (e.g. "$.parts[1].lengthA").
/// </summary>
public static class KernelSerializer
{
    /// <summary>Serialises a kernel to a JSON object string.</summary>
    /// <param name="kernel">A kernel of this library (a <see cref="LocalKernel"/>).</param>
    public static string Serialize(IKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel is not LocalKernel local)
        {
            throw new NotSupportedException($"Kernel type {kernel.GetType().FullName} cannot be serialised by KernelSerializer; implement IKernel.ToJson for it.");
        }

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            local.WriteJson(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes a kernel as a JSON object to a writer (to embed it in a model file).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="kernel">The kernel.</param>
    public static void Write(Utf8JsonWriter writer, LocalKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(kernel);
        kernel.WriteJson(writer);
    }

    /// <summary>Reads a kernel from a JSON object string.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="FormatException">The JSON is malformed or describes no valid kernel; the message names the path and the problem.</exception>
    public static LocalKernel Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Kernel JSON is malformed: {ex.Message}", ex);
        }

        return Read(node, "$");
    }

    /// <summary>
    /// Reads any kernel of this library from a JSON object string: the local kernels of
    /// <see cref="Deserialize"/>, the B2 kernel (<c>{"type":"b2","species":[8,45,56],"nmax":8,"lmax":3,
    /// "cutoffA":5.0,"cutoffFunction":"quadratic","power":2,"sigmaEv":1.0}</c>) and combined kernels
    /// (<c>{"type":"combined","parts":[…]}</c>).
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="FormatException">The JSON is malformed or describes no valid kernel; the message names the path and the problem.</exception>
    public static IKernel DeserializeAny(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Kernel JSON is malformed: {ex.Message}", ex);
        }

        return ReadAny(node, "$");
    }

    /// <summary>Reads any kernel of this library from a parsed JSON node (see <see cref="DeserializeAny"/>).</summary>
    /// <param name="node">The JSON object of the kernel.</param>
    /// <param name="path">JSON path of the node, for messages.</param>
    public static IKernel ReadAny(JsonNode? node, string path = "$")
    {
        if (node is not JsonObject obj)
        {
            throw new FormatException($"Kernel JSON {path}: expected an object describing a kernel, got {Describe(node)}.");
        }

        string type = GetString(obj, "type", path);
        try
        {
            switch (type)
            {
                case "combined":
                    {
                        if (obj["parts"] is not JsonArray arr || arr.Count == 0)
                        {
                            throw new FormatException($"Kernel JSON {path}.parts: a combined kernel needs a non-empty array of parts, got {Describe(obj["parts"])}.");
                        }

                        var parts = new IKernel[arr.Count];
                        for (int i = 0; i < arr.Count; i++)
                        {
                            parts[i] = ReadAny(arr[i], $"{path}.parts[{i}]");
                        }

                        return new CombinedKernel(parts);
                    }

                case "b2":
                    {
                        if (obj["species"] is not JsonArray sp || sp.Count == 0)
                        {
                            throw new FormatException($"Kernel JSON {path}.species: expected a non-empty array of atomic numbers, got {Describe(obj["species"])}.");
                        }

                        var species = new int[sp.Count];
                        for (int i = 0; i < sp.Count; i++)
                        {
                            if (sp[i] is not JsonValue v || !v.TryGetValue(out int zi))
                            {
                                throw new FormatException($"Kernel JSON {path}.species[{i}]: expected an atomic number, got {Describe(sp[i])}.");
                            }

                            species[i] = zi;
                        }

                        string fname = GetString(obj, "cutoffFunction", path);
                        if (!Cutoffs.TryParse(fname, out var fn))
                        {
                            throw new FormatException($"Kernel JSON {path}.cutoffFunction: unknown cutoff function '{fname}' (expected \"quadratic\" or \"cosine\").");
                        }

                        var settings = new B2Settings(species, GetInt(obj, "nmax", path), GetInt(obj, "lmax", path), GetPositive(obj, "cutoffA", path), fn);
                        return new B2Kernel(settings, GetPositive(obj, "sigmaEv", path), GetInt(obj, "power", path));
                    }

                default:
                    return Read(obj, path);
            }
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"Kernel JSON {path}: {ex.Message}", ex);
        }
    }

    private static int GetInt(JsonObject obj, string name, string path)
    {
        if (obj[name] is JsonValue v && v.TryGetValue(out int i))
        {
            return i;
        }

        throw new FormatException($"Kernel JSON {path}.{name}: expected an integer, got {Describe(obj[name])}.");
    }

    /// <summary>Reads a kernel from a parsed JSON node (to read it out of a model file).</summary>
    /// <param name="node">The JSON object of the kernel.</param>
    /// <param name="path">JSON path of the node, for messages.</param>
    public static LocalKernel Read(JsonNode? node, string path = "$")
    {
        if (node is not JsonObject obj)
        {
            throw new FormatException($"Kernel JSON {path}: expected an object describing a kernel, got {Describe(node)}.");
        }

        string type = GetString(obj, "type", path);
        try
        {
            switch (type)
            {
                case "sum":
                    {
                        if (obj["parts"] is not JsonArray arr || arr.Count == 0)
                        {
                            throw new FormatException($"Kernel JSON {path}.parts: a sum kernel needs a non-empty array of parts, got {Describe(obj["parts"])}.");
                        }

                        var parts = new LocalKernel[arr.Count];
                        for (int i = 0; i < arr.Count; i++)
                        {
                            parts[i] = Read(arr[i], $"{path}.parts[{i}]");
                        }

                        return new SumKernel(parts);
                    }

                case "two-body":
                case "three-body":
                    {
                        double cutoff = GetPositive(obj, "cutoffA", path);
                        string fname = GetString(obj, "cutoffFunction", path);
                        if (!Cutoffs.TryParse(fname, out var fn))
                        {
                            throw new FormatException($"Kernel JSON {path}.cutoffFunction: unknown cutoff function '{fname}' (expected \"quadratic\" or \"cosine\").");
                        }

                        double sigma = GetPositive(obj, "sigmaEv", path);
                        double length = GetPositive(obj, "lengthA", path);
                        var groups = ReadGroups(obj, path, type == "two-body" ? 2 : 3);
                        return type == "two-body"
                            ? new TwoBodyKernel(cutoff, sigma, length, fn, groups)
                            : new ThreeBodyKernel(cutoff, sigma, length, fn, groups);
                    }

                default:
                    throw new FormatException($"Kernel JSON {path}.type: unknown kernel type '{type}' (expected \"sum\", \"two-body\", \"three-body\", \"b2\" or \"combined\").");
            }
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"Kernel JSON {path}: {ex.Message}", ex);
        }
    }

    internal static void WriteGroups(Utf8JsonWriter w, IReadOnlyList<SpeciesGroup> groups)
    {
        w.WritePropertyName("groups");
        w.WriteStartArray();
        foreach (var g in groups)
        {
            w.WriteStartObject();
            w.WritePropertyName("members");
            w.WriteStartArray();
            foreach (var m in g.Members)
            {
                w.WriteStringValue(m);
            }

            w.WriteEndArray();
            w.WriteNumber("sigmaEv", g.SigmaEv);
            w.WriteNumber("lengthA", g.LengthA);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static List<SpeciesGroup> ReadGroups(JsonObject obj, string path, int bodyOrder)
    {
        var list = new List<SpeciesGroup>();
        var node = obj["groups"];
        if (node is null)
        {
            return list;
        }

        if (node is not JsonArray arr)
        {
            throw new FormatException($"Kernel JSON {path}.groups: expected an array, got {Describe(node)}.");
        }

        for (int i = 0; i < arr.Count; i++)
        {
            string gp = $"{path}.groups[{i}]";
            if (arr[i] is not JsonObject g)
            {
                throw new FormatException($"Kernel JSON {gp}: expected an object, got {Describe(arr[i])}.");
            }

            if (g["members"] is not JsonArray members || members.Count == 0)
            {
                throw new FormatException($"Kernel JSON {gp}.members: expected a non-empty array of species {(bodyOrder == 2 ? "pairs like \"Ba-O\"" : "triplets like \"Rh-O-O\"")}, got {Describe(g["members"])}.");
            }

            var names = new List<string>();
            for (int k = 0; k < members.Count; k++)
            {
                if (members[k] is not JsonValue v || !v.TryGetValue(out string? s))
                {
                    throw new FormatException($"Kernel JSON {gp}.members[{k}]: expected a string, got {Describe(members[k])}.");
                }

                try
                {
                    SpeciesGroup.ParseMember(s, bodyOrder);
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"Kernel JSON {gp}.members[{k}]: {ex.Message}", ex);
                }

                names.Add(s);
            }

            list.Add(new SpeciesGroup(names, GetPositive(g, "sigmaEv", gp), GetPositive(g, "lengthA", gp)));
        }

        return list;
    }

    private static string GetString(JsonObject obj, string name, string path)
    {
        if (obj[name] is JsonValue v && v.TryGetValue(out string? s))
        {
            return s;
        }

        throw new FormatException($"Kernel JSON {path}.{name}: expected a string, got {Describe(obj[name])}.");
    }

    private static double GetPositive(JsonObject obj, string name, string path)
    {
        if (obj[name] is JsonValue v && v.TryGetValue(out double d))
        {
            if (d > 0 && double.IsFinite(d))
            {
                return d;
            }

            throw new FormatException($"Kernel JSON {path}.{name}: expected a positive number, got {d.ToString("R", CultureInfo.InvariantCulture)}.");
        }

        throw new FormatException($"Kernel JSON {path}.{name}: expected a positive number, got {Describe(obj[name])}.");
    }

    private static string Describe(JsonNode? node) => node is null ? "nothing (missing or null)" : node.ToJsonString();
}
