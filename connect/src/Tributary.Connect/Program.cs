Console.WriteLine("tributary-connect");
