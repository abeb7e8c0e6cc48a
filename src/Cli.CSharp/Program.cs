using FunctionalNN;
using FunctionalNN.Cli;

// fnn: the command-line face of Functional.NN, written against the facade only.
// With no arguments it trains a small network on the embedded Iris data and prints its test accuracy
// (the main job); `fnn --dataset digits ...` is `fnn train --dataset digits ...`.
return Cli.Run(args, Console.Out, Console.Error);
