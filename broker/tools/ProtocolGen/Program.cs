using Tributary.ProtocolGen;
using Tributary.ProtocolGen.Parsing;

if (args.Length is not (2 or 3))
{
    Console.Error.WriteLine("usage: ProtocolGen <definitionsDir> <outputDir> [<namespace>]");
    return 2;
}

try
{
    var written = Generator.Run(args[0], args[1], args.Length == 3 ? args[2] : Generator.DefaultNamespace);
    Console.WriteLine($"ProtocolGen: {written.Count} files in {args[1]}");
    return 0;
}
catch (AggregateException errors) when (errors.InnerExceptions.All(e => e is DefinitionException))
{
    foreach (var error in errors.InnerExceptions)
    {
        Console.Error.WriteLine(error.Message);
    }

    return 1;
}
catch (DirectoryNotFoundException missing)
{
    Console.Error.WriteLine(missing.Message);
    return 1;
}
