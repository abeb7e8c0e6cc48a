#load "load.fsx"
open System.IO
open Functional.NN

// A CSV file with a header row and a text target column: here Iris, written out from the
// library's embedded copy; in your program, your own file.
let folder = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory folder |> ignore
let csv = Path.Combine(folder, "iris.csv")
Csv.save csv (Datasets.load "iris")

// Load it: numeric features, classes from the text column "species". Split 80/20, stratified.
let data = Csv.load (CsvOptions.Default.WithTarget "species") csv
let split, _ = Split.stratified 0.2 data.Labels (Rng.create 1L)
let train, test = Dataset.selectRows split.Train data, Dataset.selectRows split.Test data

// Train: inputs standardised on the training rows, a 4-16-3 tanh network, Adam on minibatches.
let training =
    TrainingOptions.Default.WithOptimizer(Optimizer.adam).WithSchedule(Schedule.Constant 0.01)
        .WithBatching(Batching.miniBatch 16).WithMaxEpochs(100).WithSeed(1L)
let model = (PipelineFit.fit (FitOptions.Default.WithHiddenLayers([| 16 |]).WithTraining(training)) train).Pipeline

// Evaluate on the test rows.
match Pipeline.evaluate model test with
| Evaluation.Classification r -> printfn "test accuracy %.3f, macro F1 %.3f" r.Accuracy r.MacroF1
| Evaluation.Regression r -> printfn "test R^2 %.3f" r.R2

// Save, load, predict: the loaded model predicts exactly what the trained one does.
let path = Path.Combine(folder, "iris.fnn")
ModelFile.savePipeline path model
let loaded = ModelFile.loadPipeline path
let x = Pipeline.featuresOf loaded test // the model's inputs, by column name (a text column's categories as the model's indices)
let predicted = Pipeline.predictClasses loaded x
printfn "first test flower: %s; loaded model agrees: %b" loaded.ClassNames.[predicted.[0]] (predicted = Pipeline.predictClasses model x)
