using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>Keeps every log line the storage layer writes (event name and message), so a failing test can show what happened.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<(string Event, string Message)> _lines = new();

    public IReadOnlyCollection<(string Event, string Message)> Lines => _lines;

    public int Count(string eventName) => _lines.Count(line => line.Event == eventName);

    public string Tail(int count) => string.Join(Environment.NewLine, _lines.TakeLast(count).Select(line => $"{line.Event}: {line.Message}"));

    public ILogger CreateLogger(string categoryName) => new Recorder(_lines);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Recorder(ConcurrentQueue<(string Event, string Message)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                formatter(state, exception) + (exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)));
    }
}
