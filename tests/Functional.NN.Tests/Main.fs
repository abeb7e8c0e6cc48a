module Functional.NN.Tests.Main
open Expecto
[<EntryPoint>]
let main argv = runTestsInAssemblyWithCLIArgs [] argv
