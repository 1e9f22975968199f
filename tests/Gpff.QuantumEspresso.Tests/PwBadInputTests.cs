using System.Text;

namespace Gpff.QuantumEspresso.Tests;

/// <summary>
/// Bad pw.x inputs and XML data files: each gives one clear line that names the file and the line
/// (and for XML the element), and none runs the machine out of memory.
/// </summary>
public class PwBadInputTests
{
    private const string Input = PwInputTests.SiliconInput;

    private static readonly string Xml = TestData.TestFile("qe", "special", "BaO_vcrelax_10GPa.xml");

    private static void OneLine(string message) =>
        Assert.False(message.Contains('\n') || message.Contains("(Parameter"), message);

    [Theory]
    [InlineData("Si1 0.25 0.25 0.25 0 0 1", "Si1 0.25 NaN 0.25", "si.in, line 18: ATOMIC_POSITIONS line 'Si1 0.25 NaN 0.25': 'NaN' is not a finite number")]
    [InlineData("Si1 0.00 0.00 0.00", "Si1 0.00 -Infinity 0.00", "si.in, line 17: ATOMIC_POSITIONS line 'Si1 0.00 -Infinity 0.00': '-Infinity' is not a finite number")]
    [InlineData("0.5 0.0 0.5", "0.5 1d999 0.5", "si.in, line 14: CELL_PARAMETERS row '0.5 1d999 0.5': '1d999' is not a finite number")]
    [InlineData("Si1 0.25 0.25 0.25 0 0 1", "Si1 0.25 x 0.25", "si.in, line 18: ATOMIC_POSITIONS line 'Si1 0.25 x 0.25': 'x' is not a number")]
    [InlineData("Si1 0.25 0.25 0.25 0 0 1", "Si1 0.25 0.25", "si.in, line 18: ATOMIC_POSITIONS line 'Si1 0.25 0.25': expected 4 fields, found 3")]
    [InlineData("celldm(1) = 10.2", "celldm(1) = NaN", "si.in, line 5: namelist &SYSTEM: celldm(1) = NaN is not a finite number")]
    [InlineData("nosym = .TRUE.", "nosym .TRUE.", "si.in, line 6: namelist &SYSTEM: 'nosym .TRUE.' is not 'name = value'")]
    [InlineData("ecutwfc = 3.0d1", "ecutwfc = 3.0q1", "si.in, line 5: namelist &SYSTEM: ecutwfc = 3.0q1 is not a number, a logical or a quoted string")]
    [InlineData("nat=2", "nat=2000000000", "si.in: nat = 2000000000 in &SYSTEM; expected a whole number from 1 to 20 (one line each, and the file has 20 lines).")]
    [InlineData("nat=2", "nat=0", "si.in: nat = 0 in &SYSTEM; expected a whole number from 1 to 20 (one line each, and the file has 20 lines).")]
    [InlineData("nat=2", "nat='two'", "si.in: nat = 'two' in &SYSTEM; expected a whole number from 1 to 20 (one line each, and the file has 20 lines).")]
    [InlineData("ntyp=1", "ntyp=-1", "si.in: ntyp = -1 in &SYSTEM; expected a whole number from 1 to 20 (one line each, and the file has 20 lines).")]
    [InlineData("ibrav=0", "ibrav='0'", "si.in: ibrav = '0' in &SYSTEM is not a whole number.")]
    [InlineData("celldm(1) = 10.2", "celldm(1) = -1", "si.in: celldm(1) = -1 in &SYSTEM; expected a positive number.")]
    [InlineData("Si1 0.00 0.00 0.00", "Si1 0.00 0.00 0.00\n" + "K_POINTS automatic", "si.in, line 18: ATOMIC_POSITIONS line 'K_POINTS automatic': expected 4 fields, found 2")]
    public void BadInputValuesNameTheFileTheLineAndTheValue(string find, string replace, string expected)
    {
        string text = Input.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Input, text);
        var ex = Assert.Throws<FormatException>(() => PwInput.Read(new StringReader(text), "si.in"));
        Assert.Equal(expected, ex.Message);
        OneLine(ex.Message);
    }

    [Theory]
    [InlineData(6, "si.in, line 6: the file ends: namelist &SYSTEM (line 4) is not closed with '/'")]
    [InlineData(13, "si.in, line 13: the file ends: CELL_PARAMETERS has 1 of 3 rows")]
    [InlineData(17, "si.in, line 17: the file ends: ATOMIC_POSITIONS has 1 of 2 atoms")]
    [InlineData(10, "si.in, line 10: the file ends: ATOMIC_SPECIES has 0 of 1 species")]
    [InlineData(19, "si.in, line 19: the file ends: K_POINTS automatic has no mesh line")]
    [InlineData(9, "si.in: the input has no CELL_PARAMETERS card.")]
    public void TruncatedInputIsNamedWithItsLastLine(int keep, string expected)
    {
        string text = string.Join('\n', Input.Split('\n').Take(keep));
        var ex = Assert.Throws<FormatException>(() => PwInput.Read(new StringReader(text), "si.in"));
        Assert.Equal(expected, ex.Message);
        OneLine(ex.Message);
    }

    [Fact]
    public void InputWithoutLineBreaksIsRefusedWithoutExhaustingMemory()
    {
        using (var zero = new StreamReader("/dev/zero"))
        {
            var ex = Assert.Throws<FormatException>(() => PwInput.Read(zero, "/dev/zero"));
            Assert.Equal($"/dev/zero, line 1: longer than {PwInput.MaxLineLength} characters without a line break; this is not a text file of the expected format.", ex.Message);
        }

        var long1 = Assert.Throws<FormatException>(() => PwInput.Read(new StringReader(Input + "\n! " + new string('x', PwInput.MaxLineLength)), "si.in"));
        Assert.Equal($"si.in, line 21: longer than {PwInput.MaxLineLength} characters without a line break; this is not a text file of the expected format.", long1.Message);
    }

    private static string WriteTemp(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"gpff-bad-{Guid.NewGuid():N}.xml");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static PwOutputException ReadBadXml(byte[] bytes, out string path)
    {
        path = WriteTemp(bytes);
        try
        {
            string p = path;
            return Assert.Throws<PwOutputException>(() => PwXml.Read(p));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0, "Root element is missing. (truncated or empty file?)")]
    [InlineData(81, "There is an unclosed literal string.")]
    [InlineData(8071, "Unexpected end of file has occurred. The following elements are not closed: atom, atomic_positions, atomic_structure, step, qes:espresso. (truncated or empty file?)")]
    [InlineData(40356, "Unexpected end of file has occurred. The following elements are not closed: occupations, ks_energies, band_structure, output, qes:espresso. (truncated or empty file?)")]
    [InlineData(72640, "Unexpected end of file while parsing Name has occurred. (truncated or empty file?)")]
    [InlineData(80704, "Unexpected end of file while parsing Name has occurred. (truncated or empty file?)")]
    public void RealXmlTruncatedAnywhereIsNamedWithFileAndLastLine(int keepBytes, string why)
    {
        byte[] cut = File.ReadAllBytes(Xml)[..keepBytes];
        int lines = cut.Count(b => b == (byte)'\n') + 1;
        var ex = ReadBadXml(cut, out string path);
        Assert.Equal(PwFailureKind.Malformed, ex.Kind);
        string at = keepBytes == 0 ? path : $"{path}, line {lines}";
        Assert.Equal($"{at}: malformed output: not well-formed XML: {why}", ex.Message);
        OneLine(ex.Message);
    }

    [Theory]
    [InlineData(141, "2.607822051983563e-2", "NaN", "line 141: malformed output: <step n_step=\"1\"> atom 2: 'NaN' is not a finite number")]
    [InlineData(159, "0.000000000000000e0 0.000000000000000e0", "0.000000000000000e0 -Infinity", "line 158: malformed output: <step n_step=\"1\"> <forces>: '-Infinity' is not a finite number")]
    [InlineData(150, "-4.768557873175696e1", "1e400", "line 150: malformed output: <step n_step=\"1\"> <etot>: '1e400' is not a finite number")]
    [InlineData(141, "2.607822051983563e-2", "two", "line 141: malformed output: <step n_step=\"1\"> atom 2: 'two' is not a number")]
    [InlineData(141, "2.607822051983563e-2 0.000000000000000e0", "2.6e-2", "line 141: malformed output: <step n_step=\"1\"> atom 2: expected 3 numbers, found 2")]
    public void NonFiniteNumbersInTheXmlNameTheElementAndLine(int line, string find, string replace, string expected)
    {
        var lines = File.ReadAllLines(Xml);
        Assert.Contains(find, lines[line - 1]);
        lines[line - 1] = lines[line - 1].Replace(find, replace, StringComparison.Ordinal);
        var ex = ReadBadXml(Encoding.UTF8.GetBytes(string.Join('\n', lines)), out string path);
        Assert.Equal($"{path}, {expected}", ex.Message);
    }

    [Fact]
    public void XmlWithADocumentTypeIsRefusedBeforeExpandingEntities()
    {
        string laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <qes:espresso xmlns:qes="x">&lol2;</qes:espresso>
            """;
        var ex = ReadBadXml(Encoding.UTF8.GetBytes(laughs), out string path);
        Assert.Equal($"{path}: malformed output: a document type declaration (<!DOCTYPE>) is not allowed in a pw.x data file", ex.Message);
    }

    [Fact]
    public void XmlOfAnotherKindIsNamed()
    {
        var ex = ReadBadXml(Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?>\n<svg/>\n"), out string path);
        Assert.Equal($"{path}, line 2: malformed output: the root element is <svg>, not <qes:espresso>; this is not a pw.x data-file-schema.xml", ex.Message);
    }

    [Fact]
    public void XmlFromDevZeroOrBeyondTheSizeLimitIsRefusedWithoutExhaustingMemory()
    {
        var zero = Assert.Throws<PwOutputException>(() => PwXml.Read("/dev/zero"));
        Assert.Equal("/dev/zero: malformed output: not well-formed XML: Root element is missing. (truncated or empty file?)", zero.Message);

        string path = Path.Combine(Path.GetTempPath(), $"gpff-big-{Guid.NewGuid():N}.xml");
        try
        {
            using (var w = new StreamWriter(path))
            {
                w.Write("<qes:espresso xmlns:qes=\"x\"><output>");
                var chunk = new string(' ', 1 << 20);
                for (long n = 0; n <= PwXml.MaxCharacters >> 20; n++)
                {
                    w.Write(chunk);
                }

                w.Write("</output></qes:espresso>");
            }

            var big = Assert.Throws<PwOutputException>(() => PwXml.Read(path));
            Assert.Equal($"{path}: malformed output: the document is longer than {PwXml.MaxCharacters} characters; this is not a pw.x data file", big.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
