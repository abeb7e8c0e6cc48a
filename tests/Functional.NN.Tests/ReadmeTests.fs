/// The README's quick starts cannot rot: its C# block is tests/QuickStart.CSharp/Program.cs (which
/// this project compiles and runs), and its F# block is scripts/quickstart.fsx after the script's
/// `#load` line (which the script tests run).
module Functional.NN.Tests.ReadmeTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto

let private normalise (s: string) = s.Replace("\r\n", "\n").Trim()

/// The fenced blocks of a language in the README, in order.
let blocks (language: string) =
    let readme = File.ReadAllText(Repo.path [ "README.md" ])
    Regex.Matches(normalise readme, "```" + language + "\n(.*?)\n```", RegexOptions.Singleline)
    |> Seq.map (fun m -> normalise m.Groups.[1].Value)
    |> List.ofSeq

[<Tests>]
let tests =
    testList "README" [
        test "the C# quick start is tests/QuickStart.CSharp/Program.cs" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "QuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (blocks "csharp") program "the README's first C# block is the quick start project's Program.cs"
        }
        test "the F# quick start is scripts/quickstart.fsx" {
            let script = File.ReadAllLines(Repo.path [ "scripts"; "quickstart.fsx" ])
            Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
            let body = normalise (String.Join("\n", script.[1..]))
            Expect.contains (blocks "fsharp") body "an F# block of the README is the script after its #load line"
        }
        test "the data quick starts are tests/DataQuickStart.CSharp/Program.cs and scripts/data-quickstart.fsx" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "DataQuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (blocks "csharp") program "a C# block of the README is the data quick start's Program.cs"
            let script = File.ReadAllLines(Repo.path [ "scripts"; "data-quickstart.fsx" ])
            Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
            Expect.contains (blocks "fsharp") (normalise (String.Join("\n", script.[1..]))) "an F# block of the README is the script after its #load line"
        }
        test "every page the README links exists" {
            let readme = File.ReadAllText(Repo.path [ "README.md" ])
            for m in Regex.Matches(readme, @"\]\(([^)#]+)\)") do
                let target = m.Groups.[1].Value
                Expect.isTrue (File.Exists(Repo.path [ target ])) (sprintf "%s exists" target)
        }
        test "the C# quick start runs and learns XOR" {
            let entry = Reflection.Assembly.Load("QuickStart.CSharp").EntryPoint
            let saved = Console.Out
            use capture = new StringWriter()
            Console.SetOut capture
            try entry.Invoke(null, [| box ([||]: string[]) |]) |> ignore
            finally Console.SetOut saved
            let out = capture.ToString()
            Expect.stringContains out "XOR predictions: 0.00 1.00 1.00 0.00" (sprintf "output:\n%s" out)
        }
    ]
