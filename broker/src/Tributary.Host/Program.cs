using Tributary.Broker.Config;
using Tributary.Host;

if (args.Any(a => a is "--help" or "-h"))
{
    Console.WriteLine(BrokerConfigLoader.Usage);
    return 0;
}

BrokerHost host;
try
{
    var config = BrokerConfigLoader.Load(args, Environment.GetEnvironmentVariables(), out var warnings);
    host = BrokerHost.Create(config, warnings);
}
catch (ConfigException e)
{
    // Configuration mistakes are the operator's to fix: one clear line, no stack trace.
    Console.Error.WriteLine($"tributary-broker: {e.Message}");
    return 1;
}

await using (host)
{
    try
    {
        await host.StartAsync();
    }
    catch (IOException e) when (e.InnerException is not null || e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
    {
        // Typically "address already in use": Kestrel's message names the address.
        Console.Error.WriteLine($"tributary-broker: {e.Message}");
        return 1;
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"tributary-broker: {e.Message}");
        return 1;
    }

    await host.WaitForShutdownAsync();
}

// Start-up failures (BrokerServer sets Environment.ExitCode = 1 before stopping the host) must not exit 0.
return Environment.ExitCode;
