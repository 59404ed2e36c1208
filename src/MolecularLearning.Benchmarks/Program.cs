using BenchmarkDotNet.Running;

// `-- probe`: a quick stopwatch breakdown without BenchmarkDotNet; anything else goes to BenchmarkDotNet's switcher.
if (args.Length > 0 && args[0] == "probe") return MolecularLearning.Benchmarks.Probe.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(MolecularLearning.Benchmarks.Probe).Assembly).Run(args);
return 0;
