using System.Runtime.CompilerServices;

// Crash-recovery tests open partition logs directly with explicit recovery points and shutdown state.
[assembly: InternalsVisibleTo("Tributary.Storage.Tests")]
