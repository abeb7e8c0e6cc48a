using MathNet.Numerics.LinearAlgebra;
using Microsoft.FSharp.Core;

namespace FunctionalNN;

/// <summary>Conversions between the facade's arrays and the core's matrices. Every conversion copies,
/// so a caller's array is never shared with, or changed by, the library.</summary>
internal static class Interop
{
    /// <summary>A matrix copy of a 2-D array; throws ArgumentNullException naming the parameter.</summary>
    internal static Matrix<double> ToMatrix(double[,] array, string paramName)
    {
        ArgumentNullException.ThrowIfNull(array, paramName);
        return Matrix<double>.Build.DenseOfArray(array);
    }

    /// <summary>A vector copy of an array; throws ArgumentNullException naming the parameter.</summary>
    internal static Vector<double> ToVector(double[] array, string paramName)
    {
        ArgumentNullException.ThrowIfNull(array, paramName);
        return Vector<double>.Build.DenseOfArray(array);
    }

    /// <summary>A 2-D array copy of a matrix.</summary>
    internal static double[,] ToArray(Matrix<double> matrix) => matrix.ToArray();

    /// <summary>The value of an F# option, or null.</summary>
    internal static T? OrNull<T>(FSharpOption<T>? option) where T : class =>
        FSharpOption<T>.get_IsSome(option) ? option!.Value : null;

    /// <summary>The value of an F# option of a value type, or null.</summary>
    internal static T? ValueOrNull<T>(FSharpOption<T>? option) where T : struct =>
        FSharpOption<T>.get_IsSome(option) ? option!.Value : null;

    /// <summary>Runs <paramref name="train"/>; when it diverges, throws the facade's
    /// <see cref="TrainingDivergedException{TModel}"/> with the last good model converted by <paramref name="convert"/>
    /// to the facade's type, so that no core type reaches a C# caller.</summary>
    internal static T Diverging<T, TModel>(Func<T> train, Func<object, TModel> convert)
    {
        try
        {
            return train();
        }
        catch (Functional.NN.TrainingDivergedException e) when (e.LastGood is not null)
        {
            throw new TrainingDivergedException<TModel>(e.Epoch, e.Step, convert(e.LastGood), Errors.Message(e.Message), e);
        }
    }

    /// <summary>An F# option from a possibly null reference.</summary>
    internal static FSharpOption<T> Some<T>(T? value) where T : class =>
        value is null ? FSharpOption<T>.None : FSharpOption<T>.Some(value);
}
