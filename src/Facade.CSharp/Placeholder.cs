namespace FunctionalNN;
/// <summary>placeholder</summary>
public static class Placeholder { }
