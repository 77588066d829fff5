using Tributary.ProtocolGen;
using Tributary.ProtocolGen.Parsing;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: ProtocolGen <definitionsDir> <outputDir>");
    return 2;
}

try
{
    var written = Generator.Run(args[0], args[1]);
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
