using Tributary.Storage.Cleaner;
using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>
/// When the background cleaner reads the clock relative to the segments it cleans: a tombstone's delete horizon must count from
/// the cleaning that reached it, never from an instant before the segment holding it was closed.
/// </summary>
public sealed class DeleteHorizonClockTests
{
    private const long T0 = Batches.T0;
    private const long DeleteRetentionMs = 10_000;

    [Fact]
    public async Task A_worker_whose_clock_read_predates_the_segment_it_cleans_stamps_the_delete_horizon_from_the_time_of_the_cleaning()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig with { DeleteRetentionMs = DeleteRetentionMs });
        Compaction.Append(log, T0, ("a", "1"));
        var time = new FakeTimeProviderWithReadHook(DateTimeOffset.FromUnixTimeMilliseconds(T0));

        // The worker's first clock read returns T0; before it uses that value, 5 s of log time pass and a tombstone is written and
        // its segment closed (what a busy machine does to a worker descheduled right after reading the time).
        time.OnFirstReadFromAnotherThread = () =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            Compaction.Append(log, time.NowMs, ("a", null));
            log.ForceRoll(time.NowMs);
        };
        using var cleaner = new LogCleaner(new LogCleanerOptions { BackoffMs = 5 }, () => [log], time);
        cleaner.Start();
        await Eventually.ValueAsync(() => log.CleanerCheckpoint, checkpoint => checkpoint >= 2, TimeSpan.FromSeconds(30), Eventually.DefaultInterval);

        cleaner.Stop();
        Assert.Equal(2, log.CleanerCheckpoint);
        Assert.Equal([(1L, "a", (string?)null)], Compaction.ReadAll(log).Select(r => (r.Offset, r.Key, r.Value)));
        var tombstoneBatch = Assert.Single(Compaction.ReadHeaders(log), header => header.BaseOffset == 1);
        Assert.True(tombstoneBatch.HasDeleteHorizon);
        Assert.Equal(T0 + 5_000 + DeleteRetentionMs, tombstoneBatch.BaseTimestamp);
    }

    /// <summary>A fake clock that runs an action (once) inside the first read made by a thread other than the creating one, after
    /// the value returned was taken.</summary>
    private sealed class FakeTimeProviderWithReadHook(DateTimeOffset start) : TimeProvider
    {
        private readonly FakeTimeProvider _clock = new(start);
        private readonly int _creatorThread = Environment.CurrentManagedThreadId;
        private Action? _onFirstRead;

        public Action? OnFirstReadFromAnotherThread
        {
            set => Volatile.Write(ref _onFirstRead, value);
        }

        public long NowMs => _clock.NowMs;

        public void Advance(TimeSpan by) => _clock.Advance(by);

        public override DateTimeOffset GetUtcNow()
        {
            DateTimeOffset now = _clock.GetUtcNow();
            if (Environment.CurrentManagedThreadId != _creatorThread && Interlocked.Exchange(ref _onFirstRead, null) is { } action)
            {
                action();
            }

            return now;
        }
    }
}
