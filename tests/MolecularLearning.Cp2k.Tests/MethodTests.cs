namespace MolecularLearning.Cp2k.Tests;

/// <summary>The reference's method, read from the CP2K input, names CP2K wherever a model is compared with it.</summary>
public sealed class MethodTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-method-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Shipped_xtb_input_and_restart_read_as_gfn1_xtb()
    {
        Assert.Equal("CP2K GFN1-xTB", Cp2kInput.ReadMethod(Path.Combine(SampleData.XtbSample, "md.inp")));
        Assert.Equal("CP2K GFN1-xTB", Cp2kInput.ReadMethod(Path.Combine(SampleData.XtbSample, "water32-xtb-1.restart")));
        Assert.Equal("CP2K GFN1-xTB", Cp2kInput.ReadRunMethod(SampleData.XtbSample));
    }

    [Fact]
    public void Shipped_pbe_input_and_restart_read_as_pbe_d3()
    {
        Assert.Equal("CP2K PBE-D3", Cp2kInput.ReadMethod(Path.Combine(SampleData.PbeSample, "md.inp")));
        Assert.Equal("CP2K PBE-D3", Cp2kInput.ReadMethod(Path.Combine(SampleData.PbeSample, "water32-1.restart")));
        Assert.Equal("CP2K PBE-D3", Cp2kInput.ReadRunMethod(Path.Combine(SampleData.PbeSample, "water32")));
    }

    [Theory]
    [InlineData("&FORCE_EVAL\n METHOD QS\n &DFT\n  &QS\n   METHOD xTB\n   &xTB\n    GFN_TYPE 2\n   &END xTB\n  &END QS\n &END DFT\n&END FORCE_EVAL\n", "CP2K GFN2-xTB")]
    [InlineData("&FORCE_EVAL\n &DFT\n  &XC\n   &XC_FUNCTIONAL BLYP\n   &END XC_FUNCTIONAL\n  &END XC\n &END DFT\n&END FORCE_EVAL\n", "CP2K BLYP")]
    [InlineData("&FORCE_EVAL\n &DFT\n  &XC\n   &XC_FUNCTIONAL\n    &PBE\n    &END PBE\n   &END XC_FUNCTIONAL\n   &VDW_POTENTIAL\n    &PAIR_POTENTIAL\n     TYPE DFTD3(BJ)\n    &END\n   &END\n  &END XC\n &END DFT\n&END FORCE_EVAL\n", "CP2K PBE-D3(BJ)")]
    [InlineData("&FORCE_EVAL\n METHOD FIST\n&END FORCE_EVAL\n", "CP2K FIST")]
    [InlineData("&FORCE_EVAL\n &DFT\n  &QS\n   METHOD DFTB\n  &END QS\n &END DFT\n&END FORCE_EVAL\n", "CP2K DFTB")]
    [InlineData("&GLOBAL\n PROJECT x\n&END GLOBAL\n", "CP2K")]
    public void Method_labels_from_input_text(string input, string expected)
    {
        var path = Path.Combine(_dir, "in.inp");
        File.WriteAllText(path, input);
        Assert.Equal(expected, Cp2kInput.ReadMethod(path));
    }

    [Fact]
    public void An_extended_xyz_file_has_no_cp2k_method()
    {
        var path = Path.Combine(_dir, "t.extxyz");
        File.WriteAllText(path, "1\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3\nO 0 0 0\n");
        Assert.Null(Cp2kInput.ReadRunMethod(path));
    }
}
