// Note 003's loan example (section 7): a bank's network refuses you a loan, and you want to
// know why, not "the computer decided". A small synthetic loan table, a trained pipeline, one
// refused applicant, and the refusal explained per feature by integrated gradients from the average
// applicant, with a bar chart (scripts/output/loan-refusal.png). See docs/explanations.md.
// Run: dotnet fsi scripts/loan.fsx (after building the tests in Release, which builds the core and fnn).
#load "load.fsx"
// The chart is drawn with the command-line tool's plots (ScottPlot), from its build folder.
#r "NOT BUILT YET - run 'dotnet build -c Release' in the repository's root (the whole solution, whose command-line tool holds the chart libraries), then run the script again/../../src/Cli.CSharp/bin/Release/net10.0/linux-x64/SkiaSharp.dll"
#r "../src/Cli.CSharp/bin/Release/net10.0/linux-x64/ScottPlot.dll"
#r "../src/Cli.CSharp/bin/Release/net10.0/linux-x64/fnn.dll"
open System
open System.IO
open Functional.NN

// 400 synthetic applicants. The bank's hidden rule scores income, debt, history, late payments and
// the amount asked for; age plays no part in it (so a good explanation gives age about nothing).
let names = [| "income_k"; "debt_ratio"; "history_years"; "late_payments"; "amount_k"; "age" |]
let n = 400
let draws, _ = Rng.many (n * 7) Rng.nextFloat (Rng.create 2026L)
let u i j = draws.[i * 7 + j]
let rows =
    Array.init n (fun i ->
        [| 20.0 + 100.0 * u i 0; 0.05 + 0.6 * u i 1; floor (25.0 * u i 2); floor (5.0 * u i 3 * u i 3); 5.0 + 45.0 * u i 4; 21.0 + floor (50.0 * u i 5) |])
let score (r: float[]) = 0.06 * (r.[0] - 60.0) - 8.0 * (r.[1] - 0.3) + 0.12 * (r.[2] - 10.0) - 1.1 * r.[3] - 0.05 * (r.[4] - 25.0)
// Approved with probability sigmoid(score + 2), refused otherwise.
let labels = Array.init n (fun i -> if u i 6 < Activation.sigmoid (score rows.[i] + 2.0) then 0 else 1)
let data =
    { Features = Mat.ofRows rows; FeatureNames = names; TargetName = "decision"
      Target = Target.Classes (labels, [| "approved"; "refused" |]); TargetReading = TargetReading.Given
      Categories = Array.create names.Length [||]; Missing = MissingPolicy.Error; Lines = [||]; Warnings = [||]; Dropped = DroppedRows.None }

// Train: standardised inputs, one hidden layer of 8 tanh units, Adam on minibatches.
let training = TrainingOptions.Default.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.02).WithBatching(Batching.miniBatch 32).WithMaxEpochs(60).WithSeed(1L)
let model = (PipelineFit.fit (FitOptions.Default.WithHiddenLayers([| 8 |]).WithTraining(training).WithSeed(1L)) data).Pipeline
match Pipeline.evaluate model data with
| Evaluation.Classification r -> printfn "training accuracy %.3f on %d applicants" r.Accuracy n
| _ -> ()

// You: a modest income, a high debt ratio, a short history, two late payments, 30k asked for, 34 years old.
let you = [| 45.0; 0.48; 4.0; 2.0; 30.0; 34.0 |]
let decision = (Pipeline.predictClasses model (Mat.ofRows [ you ])).[0]
let p = (Pipeline.probabilities model (Mat.ofRows [ you ])).Value
printfn "the bank's network: %s (P(refused) = %.3f)" model.ClassNames.[decision] p.[0, 1]
if decision <> 1 then failwith "the example applicant should be refused"

// Why? Integrated gradients of P(refused) from the average applicant (the scaler keeps the training
// mean), per feature: each number is what that feature added to P(refused); they sum to
// P(refused | you) - P(refused | average applicant), up to the reported gap.
let why = Attribution.explainPipeline model AttributionOptions.Default None you
printfn "\n%s: you %.3f, the average applicant %.3f, gap %.2g (a rule of %d path nodes)" why.OutputName why.Output why.BaselineOutput why.Gap why.Attribution.Steps
printfn "%-14s %10s %10s %12s" "feature" "you" "average" "attribution"
for i in Array.sortByDescending (fun i -> abs why.Values.[i]) [| 0 .. names.Length - 1 |] do
    printfn "%-14s %10.2f %10.2f %+12.4f" why.Names.[i] why.Input.[i] why.Baseline.[i] why.Values.[i]
let sum = Array.sum why.Values
if abs (sum - (why.Output - why.BaselineOutput)) > 1e-6 then failwithf "completeness: %g vs %g" sum (why.Output - why.BaselineOutput)
let top = why.Values |> Array.mapi (fun i v -> i, v) |> Array.maxBy snd |> fst
printfn "\nthe largest reason for the refusal: %s" names.[top]
let ageShare = abs why.Values.[5] / (why.Values |> Array.sumBy abs)
printfn "age, which the bank's rule ignores, carries %.1f%% of the total attribution" (100.0 * ageShare)

// The plot.
let folder = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory folder |> ignore
let png = Path.Combine(folder, "loan-refusal.png")
FunctionalNN.Cli.Plots.AttributionBars(why.Names, why.Values, null, "Why the loan was refused: integrated gradients of P(refused)",
                                       sprintf "attribution to P(refused) (you %.3f, average applicant %.3f)" why.Output why.BaselineOutput, png)
printfn "plot: %s" png

// And globally: which features the network relies on over all applicants (accuracy drop when shuffled).
let importance = Importance.ofPipeline model data 5 7L
printfn "\npermutation importance (accuracy %.3f, 5 shuffles per feature):" importance.BaselineScore
for i in Array.sortByDescending (fun i -> importance.Means.[i]) [| 0 .. names.Length - 1 |] do
    printfn "%-14s %8.4f +- %.4f" names.[i] importance.Means.[i] importance.StandardDeviations.[i]
