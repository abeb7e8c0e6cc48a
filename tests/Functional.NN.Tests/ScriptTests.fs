/// Runs every .fsx script in scripts/ (except load.fsx, which they all load) with `dotnet fsi`;
/// a script fails its test by exiting with an error. The scripts load the Release build of the
/// core, which building this test project in Release produces.
module Functional.NN.Tests.ScriptTests

open System
open System.IO
open Expecto

[<Tests>]
let tests =
    let dir = Repo.path [ "scripts" ]
    let scripts =
        Directory.GetFiles(dir, "*.fsx")
        |> Array.filter (fun f -> Path.GetFileName f <> "load.fsx")
        |> Array.sort
    testList "scripts" [
        for script in scripts do
            yield testCase (Path.GetFileName script) <| fun () ->
                let core = Repo.path [ "src"; "Core.FSharp"; "bin"; "Release"; "net10.0"; "Functional.NN.dll" ]
                if not (File.Exists core) then failtestf "%s is missing: build the tests with -c Release" core
                let code, output = Repo.run "dotnet" [ "fsi"; "--quiet"; "--exec"; script ] dir (TimeSpan.FromMinutes 3.0)
                if code <> 0 then failtestf "%s exited with %d:\n%s" (Path.GetFileName script) code output
        yield testCase "scripts/README.md lists every script" <| fun () ->
            let readme = File.ReadAllText(Path.Combine(dir, "README.md"))
            for script in scripts do
                let name = Path.GetFileName script
                Expect.stringContains readme (sprintf "| `%s` |" name) (sprintf "scripts/README.md has a row for %s" name)
        yield testCase "load.fsx in a clone that is not built says what to build first" <| fun () ->
            // A clone's scripts folder with no src/*/bin beside it: load.fsx and a script that loads it.
            let root = Path.Combine(Path.GetTempPath(), "fnn-unbuilt-" + Guid.NewGuid().ToString("N"))
            let scripts = Path.Combine(root, "scripts")
            Directory.CreateDirectory scripts |> ignore
            try
                File.Copy(Path.Combine(dir, "load.fsx"), Path.Combine(scripts, "load.fsx"))
                File.WriteAllText(Path.Combine(scripts, "first.fsx"), "#load \"load.fsx\"\nprintfn \"%s\" (typeof<Functional.NN.Loss>.Name)\n")
                let code, output = Repo.run "dotnet" [ "fsi"; "--quiet"; "--exec"; "first.fsx" ] scripts (TimeSpan.FromMinutes 3.0)
                Expect.notEqual code 0 "the script stops"
                Expect.stringContains output "NOT BUILT YET - run 'dotnet build -c Release' in the repository's root first" output
            finally Directory.Delete(root, true)
    ]
