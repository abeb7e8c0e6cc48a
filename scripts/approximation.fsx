// Universal approximation by one hidden layer of ReLUs (note 002's theorem, 1D case, equation (6),
// and its proof by a ReLU linear spline; note 000's h(x) = sum_j a_j s(w_j x + b_j) with s = ReLU):
// ReluInterpolant.construct builds, without training, the network
// h(x) = c + sum_k d_k max(0, x - x_k) that interpolates f at N equally spaced knots x_k (the linear
// spline; d_k is the change of slope at x_k). The script prints the construction, checks the error bound h^2/8 max|f''|, and draws
// f against the network as SVG line charts in scripts/output/ (written by hand: no plotting package).
// Run from the repository root after a Release build: dotnet fsi scripts/approximation.fsx
#load "load.fsx"

open System
open System.Globalization
open System.IO
open System.Text
open Functional.NN
open Functional.NN.Approximation

let outDir = Path.Combine(__SOURCE_DIRECTORY__, "output")
Directory.CreateDirectory outDir |> ignore
let inv (x: float) = x.ToString("0.###", CultureInfo.InvariantCulture)

let predict (net: Network) (xs: float[]) =
    let out = Network.predict net (Mat.init xs.Length 1 (fun i _ -> xs.[i]))
    Array.init xs.Length (fun i -> out.[i, 0])

/// A line chart of several series (x, y, colour, label) with the knots as dots, as SVG text.
let svgChart (title: string) (series: (float[] * float[] * string * string) list) (dots: float[] * float[]) =
    let width, height, margin = 720.0, 420.0, 50.0
    let allX = series |> List.collect (fun (x, _, _, _) -> List.ofArray x)
    let allY = series |> List.collect (fun (_, y, _, _) -> List.ofArray y)
    let x0, x1 = List.min allX, List.max allX
    let yLo, yHi = List.min allY, List.max allY
    let pad = 0.05 * (yHi - yLo)
    let y0, y1 = yLo - pad, yHi + pad
    let px x = margin + (x - x0) / (x1 - x0) * (width - 2.0 * margin)
    let py y = height - margin - (y - y0) / (y1 - y0) * (height - 2.0 * margin)
    let sb = StringBuilder()
    let add (s: string) = sb.AppendLine s |> ignore
    add (sprintf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"sans-serif\" font-size=\"12\">" (inv width) (inv height) (inv width) (inv height))
    add "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
    add (sprintf "<text x=\"%s\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>" (inv (width / 2.0)) title)
    // Axes with five ticks each.
    add (sprintf "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" stroke=\"#444\"/>" (inv margin) (inv margin) (inv (width - 2.0 * margin)) (inv (height - 2.0 * margin)))
    for k in 0 .. 4 do
        let xv = x0 + float k / 4.0 * (x1 - x0)
        let yv = y0 + float k / 4.0 * (y1 - y0)
        add (sprintf "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>" (inv (px xv)) (inv (height - margin + 18.0)) (inv xv))
        add (sprintf "<text x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>" (inv (margin - 6.0)) (inv (py yv + 4.0)) (inv yv))
        add (sprintf "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#ddd\"/>" (inv margin) (inv (py yv)) (inv (width - margin)) (inv (py yv)))
    series |> List.iteri (fun i (xs, ys, colour, label) ->
        let points = Array.map2 (fun x y -> inv (px x) + "," + inv (py y)) xs ys
        add (sprintf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"%s\"/>" colour (if i = 0 then 3 else 1) (String.Join(" ", points)))
        // The legend sits between the title and the plot, one entry after another.
        let lx, ly = margin + 220.0 * float i, margin - 10.0
        add (sprintf "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"/>" (inv lx) (inv (ly - 4.0)) (inv (lx + 25.0)) (inv (ly - 4.0)) colour)
        add (sprintf "<text x=\"%s\" y=\"%s\">%s</text>" (inv (lx + 30.0)) (inv ly) label))
    let kx, ky = dots
    Array.iter2 (fun x y -> add (sprintf "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"#d62728\"/>" (inv (px x)) (inv (py y)))) kx ky
    add "</svg>"
    sb.ToString()

let show (name: string) (f: float -> float) (a: float) (b: float) (maxF2: float) (ns: int list) (plotN: int) (file: string) =
    Console.WriteLine(sprintf "\n%s on [%s, %s], max|f''| = %.6g" name (inv a) (inv b) maxF2)
    Console.WriteLine("    N   hidden units   max error at knots   max error on grid   bound h^2/8 max|f''|")
    for n in ns do
        let net = ReluInterpolant.ofFunction f a b n
        let knots = ReluInterpolant.knots a b n
        let atKnots = Array.map2 (fun x v -> abs (v - f x)) knots (predict net knots) |> Array.max
        let grid = Array.init 10001 (fun i -> a + (b - a) * float i / 10000.0)
        let onGrid = Array.map2 (fun x v -> abs (v - f x)) grid (predict net grid) |> Array.max
        let bound = ReluInterpolant.errorBound a b n maxF2
        Console.WriteLine(sprintf "%5d %14d %20.3g %19.3g %21.3g" n net.Layers.[0].OutputSize atKnots onGrid bound)
        if atKnots > 1e-12 || onGrid > bound then failwithf "N = %d: the interpolant misses the bound" n
    let net = ReluInterpolant.ofFunction f a b plotN
    let grid = Array.init 400 (fun i -> a + (b - a) * float i / 399.0)
    let knots = ReluInterpolant.knots a b plotN
    let svg =
        svgChart (sprintf "%s and its one-hidden-layer ReLU interpolant, N = %d" name plotN)
            [ grid, Array.map f grid, "#1f77b4", sprintf "f(x) = %s" name
              grid, predict net grid, "#ff7f0e", sprintf "network, %d ReLUs" (plotN - 1) ]
            (knots, Array.map f knots)
    File.WriteAllText(Path.Combine(outDir, file), svg)
    Console.WriteLine(sprintf "plot: scripts/output/%s" file)
    net

// The construction for N = 5 points of sin on [0, 2 pi], term by term.
let small = ReluInterpolant.ofFunction sin 0.0 (2.0 * Math.PI) 5
let hidden, output = small.Layers.[0], small.Layers.[1]
/// Six decimals with a sign; a value that rounds to zero (a bias of -0.0, the slope change at pi:
/// 0 in exact arithmetic, about -1.6e-16 after rounding) prints as +0.000000, not -0.000000.
let signed (v: float) =
    let r = Math.Round(v, 6)
    sprintf "%+.6f" (if r = 0.0 then 0.0 else r)
Console.WriteLine("sin on [0, 2 pi], N = 5: h(x) = c + sum_k d_k max(0, w_k x + b_k)")
for i in 0 .. hidden.OutputSize - 1 do
    Console.WriteLine(sprintf "  %s max(0, %.6f x %s)" (signed output.Weights.[i, 0]) hidden.Weights.[0, i] (signed hidden.Bias.Value.[i]))
Console.WriteLine(sprintf "  c = %s" ((signed output.Bias.Value.[0]).TrimStart '+'))
for line in Network.describe small do Console.WriteLine("  " + line)

show "sin" sin 0.0 (2.0 * Math.PI) 1.0 [ 8; 32; 128 ] 8 "approximation-sin.svg" |> ignore
show "exp" exp -1.0 1.0 Math.E [ 8; 32; 128 ] 4 "approximation-exp.svg" |> ignore
