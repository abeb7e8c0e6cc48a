/// Runs every .fsx script in scripts/ (except load.fsx, which they all load) with `dotnet fsi`,
/// and the F# blocks of the docs pages that form a program; a script fails its test by exiting
/// with an error. The scripts load the Release build of the core, which building this test project
/// in Release produces.
module Functional.NN.Tests.ScriptTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto

/// The pages whose F# blocks, run in order, are a whole program (each defines what it uses). The
/// F# blocks of README.md, docs/data-and-models.md and docs/training.md are scripts in scripts/
/// (quickstart.fsx, data-quickstart.fsx, training-example.fsx), run as such.
let private runnableDocs = [ "autodiff.md"; "linear-models.md"; "blocks.md"; "precision.md"; "backends.md"; "universal-approximation.md" ]

/// The ```fsharp blocks of a page, in order.
let private fsharpBlocks (page: string) =
    Regex.Matches(File.ReadAllText(page).Replace("\r\n", "\n"), "```fsharp\n(.*?)\n```", RegexOptions.Singleline)
    |> Seq.map (fun m -> m.Groups.[1].Value)
    |> List.ofSeq

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
                // The range its last line prints is quoted by two pages, measured on an AVX-512
                // machine (other instruction sets give other bits): a kernel change that moves it
                // must update them.
                if Path.GetFileName script = "precision.fsx" && Runtime.Intrinsics.Vector512.IsHardwareAccelerated then
                    let m = Regex.Match(output, @"from ([0-9.e+-]+) \(seed \d+\) to ([0-9.e+-]+) \(seed \d+\)")
                    Expect.isTrue m.Success (sprintf "precision.fsx prints the range of its seeds:\n%s" output)
                    // "6.4e-07" as the pages write it, "6.4e-7".
                    let short (v: string) = Regex.Replace(v, @"e-0*(\d)", "e-$1")
                    let range = sprintf "%s to %s" (short m.Groups.[1].Value) (short m.Groups.[2].Value)
                    for page in [ "precision.md"; "backends.md" ] do
                        let text = Regex.Replace(File.ReadAllText(Repo.path [ "docs"; page ]), @"\s+", " ")
                        Expect.stringContains text range (sprintf "docs/%s quotes the range precision.fsx prints, %s" page range)
        for doc in runnableDocs do
            yield testCase (sprintf "docs/%s: its F# blocks run in order after #load \"scripts/load.fsx\"" doc) <| fun () ->
                let blocks = fsharpBlocks (Repo.path [ "docs"; doc ])
                Expect.isNonEmpty blocks "the page has F# blocks"
                // Each block is one submission of F# Interactive (";;" between them), as when the blocks
                // are pasted in turn: a later block may rebind a name of an earlier one.
                let folder = Path.Combine(Path.GetTempPath(), "fnn-doc-" + Guid.NewGuid().ToString("N"))
                Directory.CreateDirectory folder |> ignore
                try
                    let program = sprintf "#load \"%s\"\n;;\n%s\n" (Path.Combine(dir, "load.fsx").Replace('\\', '/')) (String.Join("\n;;\n", blocks))
                    File.WriteAllText(Path.Combine(folder, "doc.fsx"), program)
                    let code, output = Repo.run "dotnet" [ "fsi"; "--quiet"; "--exec"; "doc.fsx" ] folder (TimeSpan.FromMinutes 3.0)
                    if code <> 0 then failtestf "the F# blocks of docs/%s, run in order, exited with %d:\n%s" doc code output
                finally Directory.Delete(folder, true)
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
