using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Tributary.Broker.Tests")]
