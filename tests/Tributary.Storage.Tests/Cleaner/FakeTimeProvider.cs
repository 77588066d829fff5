namespace Tributary.Storage.Tests.Cleaner;

/// <summary>A clock that moves only when the test says so: minutes of log time in seconds of wall time. Timers are the system's.</summary>
internal sealed class FakeTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _nowMs = start.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _nowMs));

    public long NowMs => Interlocked.Read(ref _nowMs);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _nowMs, (long)by.TotalMilliseconds);
}
