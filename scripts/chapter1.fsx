// Chapter 1 of the notes (regression models): the commute example by the normal equation
// (1.6), polynomial regression (1.5) and ridge regression (1.6) in both forms.
// Run from the repository root after a Release build: dotnet fsi scripts/chapter1.fsx
#load "load.fsx"

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN
open Functional.NN.Linear

let show (name: string) (values: float seq) =
    Console.WriteLine(sprintf "%s = [%s]" name (values |> Seq.map (sprintf "%.14g") |> String.concat ", "))

// 1.7: distance (km), weekday (1/0) -> commute time (min).
let x, y, names = Datasets.commute ()
let model = LeastSquares.fitNamed LeastSquaresOptions.Default names x y
Console.WriteLine "1.7 Least squares on the commute data (normal equation X^T X W = X^T Y, solved by QR of X):"
show "W*" ((LinearModel.stacked model).Column(0))
show "Y*" ((LinearModel.predict model x).Column(0))
show "Y " (y.Column 0)
Console.WriteLine(sprintf "C(W*) = %.10g (the minimum of (1.3) is not 0), R^2 = %.6f, MSE = %.6f"
                      (LinearCost.value (LinearCost.LeastSquares true) x y model) (LinearModel.r2 model x y) (LinearModel.meanSquaredError model x y))
Console.WriteLine "The notes' values: W* = [6.08613445378149, 6.53361344537816, 2.11274509803922]."

// A duplicated feature makes X^T X singular: the library says so instead of returning NaN.
let dup = Matrix<float>.Build.Dense(5, 3, fun i j -> if j < 2 then x.[i, j] else x.[i, 1])
try LeastSquares.fit LeastSquaresOptions.Default dup y |> ignore
with :? ArgumentException as e -> Console.WriteLine("\nDuplicated weekday column: " + e.Message)

// 1.5: polynomial regression, f(x) = W^T phi(x), phi(x) = [1, x, ..., x^m].
Console.WriteLine "\n1.5 Polynomial regression: y = 2 - 3x + 0.5x^2 + 1.25x^3 sampled at x = -2, -1.75, ..., 2"
let xs = Array.init 17 (fun i -> -2.0 + 0.25 * float i)
let ys = xs |> Array.map (fun t -> 2.0 - 3.0 * t + 0.5 * t * t + 1.25 * t * t * t)
for degree in [ 1; 2; 3 ] do
    let p = PolynomialRegression.fit degree NormalEquation.DefaultRankTolerance (LinearModel.column xs) (LinearModel.column ys)
    show (sprintf "degree %d: [w0..w%d]" degree degree) (PolynomialRegression.coefficients p 0)
    Console.WriteLine(sprintf "          R^2 = %.10f" (PolynomialRegression.r2 p (LinearModel.column xs) (LinearModel.column ys)))

// The commute time against distance alone, degree 1 and 2.
let distance = x.Column(0).ToArray()
for degree in [ 1; 2 ] do
    let p = PolynomialRegression.fit degree NormalEquation.DefaultRankTolerance (LinearModel.column distance) y
    show (sprintf "commute ~ distance, degree %d" degree) (PolynomialRegression.coefficients p 0)

// 1.6: ridge regression. The notes' form penalises every weight including w0:
// W* = (X^T X / n + lambda I)^-1 (X^T Y / n). The common form (scikit-learn) leaves w0 free.
Console.WriteLine "\n1.6 Ridge regression on the commute data:"
for lambda in [ 0.0; 0.01; 0.1; 1.0; 10.0 ] do
    let notes = Ridge.fit (RidgeOptions.Default.WithLambda lambda) x y
    let common = Ridge.fit { Lambda = lambda; Form = RidgeForm.InterceptUnpenalized; FitIntercept = true } x y
    show (sprintf "lambda = %-5g notes' form (w0 penalised)  " lambda) ((LinearModel.stacked notes).Column(0))
    show (sprintf "lambda = %-5g intercept unpenalised (alpha = %g)" lambda (5.0 * lambda)) ((LinearModel.stacked common).Column(0))
Console.WriteLine "(A slip in the notes: the derivative of lambda/2 ||W||^2 is lambda W, not 2W; the closed form uses lambda W.)"

// Ridge (lambda > 0) has no rank test: it fits the duplicated design, splitting the weight
// equally between the two equal columns. With the copies scaled by 1e6 the split is equal to about
// 4 digits only (exact: 1.41368337310999e-06 each): the scaled condition number, about 1e13, sends
// the fit to the stacked QR, accurate in norm (the weights' sum) but not in each tiny weight.
show "ridge lambda = 0.1 on the duplicated design" ((LinearModel.stacked (Ridge.fit (RidgeOptions.Default.WithLambda 0.1) dup y)).Column(0))
let dupBig = dup.MapIndexed(fun _ j v -> if j >= 1 then 1e6 * v else v)
show "ridge lambda = 0.1, weekday copies scaled by 1e6" ((LinearModel.stacked (Ridge.fit (RidgeOptions.Default.WithLambda 0.1) dupBig y)).Column(0))
// A lambda too small for the scale of the data gets a ridge-specific message.
try Ridge.fit (RidgeOptions.Default.WithLambda 1e-20) dup y |> ignore
with :? ArgumentException as e -> Console.WriteLine("lambda = 1e-20: " + e.Message)

// QR of X instead of Cholesky of X^T X: a degree-5 polynomial on [0, 10] from 40 noiseless points.
let x5 = Array.init 40 (fun i -> 10.0 * float i / 39.0)
let c5 = [| 5.0; -4.0; 3.0; -2.0; 1.0; -0.5 |]
let p5 = PolynomialRegression.fit 5 NormalEquation.DefaultRankTolerance (LinearModel.column x5) (LinearModel.column (x5 |> Array.map (fun t -> Array.foldBack (fun c acc -> c + t * acc) c5 0.0)))
Console.WriteLine(sprintf "\nDegree 5 on [0, 10], 40 points: largest coefficient error %.2g (PolynomialRegression.fit: QR of the monomials of u = (x - 5) / 8)"
                      (Array.map2 (fun a b -> abs (a - b)) (PolynomialRegression.coefficients p5 0) c5 |> Array.max))
