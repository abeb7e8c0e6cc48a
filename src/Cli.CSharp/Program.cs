System.Console.WriteLine("fnn");
