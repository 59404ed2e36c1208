using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("MolecularLearning.Learning.Tests")]
