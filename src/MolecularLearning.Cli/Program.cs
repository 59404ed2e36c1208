using System.CommandLine;
using MolecularLearning.Cli;

// Each verb is one class implementing IVerb in Verbs/; they are discovered here so adding a verb
// touches only its own file.
var root = new RootCommand("mld: learned force fields from CP2K molecular dynamics (Molecular Learning Dynamics)");
foreach (var verb in IVerb.All()) root.Subcommands.Add(verb.Build());
return await root.Parse(args).InvokeAsync();
