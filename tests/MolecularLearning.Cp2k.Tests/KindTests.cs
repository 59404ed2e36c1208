using MolecularLearning.Core;
using static MolecularLearning.Cp2k.Tests.SyntheticRun;

namespace MolecularLearning.Cp2k.Tests;

/// <summary>
/// Masses and elements from the run's &amp;KIND sections: a real heavy-water run (CP2K 2023.1, GFN1-xTB, &amp;KIND H / MASS
/// 2.01410178, tests/data/cp2k-d2o), kind-name labels, and the kinetic-energy check against .ener that catches the rest.
/// </summary>
public class KindTests
{
    private static string D2o => Path.Combine(SampleData.RepoRoot, "tests", "data", "cp2k-d2o");

    /// <summary>The D2O run copied to a temporary directory, with the named files left out.</summary>
    private static string D2oCopy(string dir, params string[] without)
    {
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.EnumerateFiles(D2o))
            if (!without.Contains(Path.GetFileName(f))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "mld-kinds-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData("d2o-1.restart.gz", "md.inp")] // the restart's &KIND (what CP2K wrote back)
    [InlineData("md.inp", "d2o-1.restart.gz")] // the input's alone
    public void Heavy_water_run_has_the_kind_mass_and_cp2k_temperature(string keep, string drop)
    {
        var dir = D2oCopy(TempDir(), drop);
        try
        {
            var warnings = new List<string>();
            var t = Cp2kRun.Read(dir, warnings.Add);
            Assert.True(File.Exists(Path.Combine(dir, keep)));
            Assert.Empty(warnings);
            var f = t.Frames[0];
            Assert.All(f.Species.Where(s => s.Symbol == "H"), s => Assert.Equal(2.01410178, s.Mass));
            Assert.All(f.Species.Where(s => s.Symbol == "O"), s => Assert.Equal(Elements.O.Mass, s.Mass));
            // CP2K's .ener: kinetic 0.135381356 Ha, 300 K at step 0, 283.030693680 K at step 3 (3N − 3 dof as CP2K counts them).
            for (int k = 0; k < t.Frames.Count; k++)
            {
                Assert.Equal(t.Energies!.Kinetic[k], t.Frames[k].KineticEnergy(), 1e-6);
                Assert.Equal(t.Energies.Temperature[k], t.Frames[k].Temperature(), 1e-3); // CP2K's k_B and amu differ from CODATA 2018's in the 7th digit
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Without_the_kind_mass_the_kinetic_energy_check_warns()
    {
        var dir = D2oCopy(TempDir(), "d2o-1.restart.gz", "md.inp");
        try
        {
            File.WriteAllText(Path.Combine(dir, "md.inp"), File.ReadAllText(Path.Combine(D2o, "md.inp")).Replace("MASS 2.01410178", ""));
            var warnings = new List<string>();
            var t = Cp2kRun.Read(dir, warnings.Add);
            Assert.Equal(Elements.H.Mass, t.Frames[0].Species.First(s => s.Symbol == "H").Mass);
            var w = Assert.Single(warnings);
            Assert.Contains("d2o-1.ener: step 0", w);
            Assert.Contains("1.4814 times", w); // KE with D over KE with H for these velocities
            Assert.Contains("do not give the masses CP2K used", w);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void No_input_at_all_says_so_in_the_warning()
    {
        var dir = D2oCopy(TempDir(), "d2o-1.restart.gz", "md.inp");
        try
        {
            File.WriteAllText(Path.Combine(dir, "cell.inp"), "&GLOBAL\n PROJECT d2o\n&END GLOBAL\n&FORCE_EVAL\n &SUBSYS\n  &CELL\n   ABC 9.8528 9.8528 9.8528\n  &END CELL\n &END SUBSYS\n&END FORCE_EVAL\n");
            var warnings = new List<string>();
            Cp2kRun.Read(dir, warnings.Add);
            Assert.Contains(warnings, w => w.Contains("no input with &KIND sections was found"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Reads_kinds_with_element_mass_units_and_nested_sections()
    {
        using var run = new SyntheticRun();
        run.WriteFile("k.inp", """
            &FORCE_EVAL
              &SUBSYS
                &KIND Ow ! comment
                  ELEMENT O
                  &BASIS
                    MASS 99
                  &END BASIS
                &END KIND
                &KIND D
                  ELEMENT H
                  MASS [amu] 2.014
                &END KIND
                &KIND H
                  MASS -1
                &END KIND
              &END SUBSYS
            &END FORCE_EVAL
            &FORCE_EVAL
              &SUBSYS
                &KIND X
                &END KIND
              &END SUBSYS
            &END FORCE_EVAL
            """);
        var kinds = Cp2kInput.ReadKinds(Path.Combine(run.Directory, "k.inp"));
        Assert.Equal([new Cp2kKind("Ow", "O", null), new Cp2kKind("D", "H", 2.014), new Cp2kKind("H", null, null)], kinds);
    }

    [Fact]
    public void A_mass_unit_other_than_amu_is_refused_naming_the_line()
    {
        using var run = new SyntheticRun();
        run.WriteFile("k.inp", "&FORCE_EVAL\n &SUBSYS\n  &KIND D\n   MASS [kg] 3e-27\n  &END KIND\n &END SUBSYS\n&END FORCE_EVAL\n");
        var e = Assert.Throws<DataException>(() => Cp2kInput.ReadKinds(Path.Combine(run.Directory, "k.inp")));
        Assert.Contains("line 4", e.Message);
        Assert.Contains("[kg]", e.Message);
    }

    /// <summary>PRINT_ATOM_KIND writes kind names: their ELEMENT and MASS decide, even where the name alone would mislead.</summary>
    [Fact]
    public void Kind_name_labels_take_their_element_and_mass()
    {
        using var run = new SyntheticRun { Symbols = ["Ow", "Dw", "Dw", "CLX", "Ho", "H"] }.WriteComplete(steps: 2);
        run.WriteFile("md.inp", """
            &GLOBAL
              PROJECT P
            &END GLOBAL
            &FORCE_EVAL
              &SUBSYS
                &KIND Ow
                  ELEMENT O
                &END KIND
                &KIND Dw
                  ELEMENT H
                  MASS 2.014
                &END KIND
                &KIND CLX
                  ELEMENT Cl
                &END KIND
                &KIND Ho
                  ELEMENT H
                &END KIND
                &KIND H
                &END KIND
              &END SUBSYS
            &END FORCE_EVAL
            """);
        var warnings = new List<string>();
        var species = Cp2kRun.Read(run.Directory, warnings.Add).Frames[0].Species;
        Assert.Equal(["O", "H", "H", "Cl", "H", "H"], species.Select(s => s.Symbol));
        Assert.Equal([Elements.O.Mass, 2.014, 2.014, Elements.Get("Cl").Mass, Elements.H.Mass, Elements.H.Mass], species.Select(s => s.Mass));
        // The synthetic .ener was written with the table's masses, so the check sees the D masses and says so.
        Assert.Contains(warnings, w => w.Contains("kinetic energy"));
    }

    /// <summary>Two kinds of one element with different masses and element labels: the file cannot tell them apart.</summary>
    [Fact]
    public void Element_labels_over_kinds_of_different_mass_warn()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        // The restart holds no &KIND, so the kinds come from md.inp.
        run.WriteFile("md.inp", "&GLOBAL\n PROJECT P\n&END GLOBAL\n&FORCE_EVAL\n &SUBSYS\n  &KIND D\n   ELEMENT H\n   MASS 2.014\n  &END KIND\n  &KIND H\n  &END KIND\n &END SUBSYS\n&END FORCE_EVAL\n");
        var warnings = new List<string>();
        var t = Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Equal(Elements.H.Mass, t.Frames[0].Species[1].Mass);
        var w = Assert.Single(warnings);
        Assert.Contains("atoms labelled 'H' in the trajectory may be of kinds D (2.014 amu), H (1.00794 amu)", w);
    }
}
