using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class LogManagerTopicIdTests
{
    private static LogManager Open(string dir) => LogManager.Open(new LogManagerOptions { LogDirs = [dir] });

    [Fact]
    public void GetOrCreateLog_with_a_topic_id_records_it_in_the_partition_directory()
    {
        using var dir = new TempDirectory();
        using LogManager manager = Open(dir.Path);
        Uuid topicId = Uuid.NewRandom();

        manager.GetOrCreateLog("orders", 0, LogConfig.Default, topicId);

        Assert.Equal(topicId, PartitionMetadataFile.Read(dir.Sub("orders-0")));
        Assert.True(manager.TryGetTopicId("orders", 0, out Uuid recorded));
        Assert.Equal(topicId, recorded);
    }

    [Fact]
    public void A_log_reopened_with_its_own_topic_id_keeps_its_records()
    {
        using var dir = new TempDirectory();
        Uuid topicId = Uuid.NewRandom();
        using (LogManager manager = Open(dir.Path))
        {
            Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default, topicId), count: 5);
        }

        using LogManager reopened = Open(dir.Path);
        PartitionLog log = reopened.GetOrCreateLog("orders", 0, LogConfig.Default, topicId);

        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal([0L, 1, 2, 3, 4], Batches.ReadAllOffsets(log));
    }

    [Fact]
    public void A_log_of_another_topic_id_is_deleted_and_replaced_by_an_empty_log()
    {
        using var dir = new TempDirectory();
        Uuid deletedTopic = Uuid.NewRandom();
        using (LogManager manager = Open(dir.Path))
        {
            Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default, deletedTopic), count: 5);
        }

        Uuid recreatedTopic = Uuid.NewRandom();
        LogManager reopened = Open(dir.Path);
        PartitionLog log = reopened.GetOrCreateLog("orders", 0, LogConfig.Default, recreatedTopic);

        Assert.Equal(0, log.LogEndOffset);
        Assert.Empty(Batches.ReadAllOffsets(log));
        Assert.Equal(recreatedTopic, PartitionMetadataFile.Read(dir.Sub("orders-0")));
        Batches.Append(log, count: 2);
        reopened.Close();
        // The old directory went through <name>.<id>-delete and is gone; only the new log is left and reopens.
        Assert.Equal(["orders-0"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName));
        using LogManager again = Open(dir.Path);
        Assert.Equal(2, again.GetOrCreateLog("orders", 0, LogConfig.Default, recreatedTopic).LogEndOffset);
    }

    [Fact]
    public void A_log_of_another_topic_id_is_replaced_while_the_manager_runs()
    {
        using var dir = new TempDirectory();
        using LogManager manager = Open(dir.Path);
        PartitionLog old = manager.GetOrCreateLog("orders", 0, LogConfig.Default, Uuid.NewRandom());
        Batches.Append(old, count: 5);

        PartitionLog fresh = manager.GetOrCreateLog("orders", 0, LogConfig.Default, Uuid.NewRandom());

        Assert.NotSame(old, fresh);
        Assert.Equal(0, fresh.LogEndOffset);
    }

    [Fact]
    public void A_log_without_a_recorded_topic_id_adopts_the_given_one_and_keeps_its_records()
    {
        using var dir = new TempDirectory();
        using (LogManager manager = Open(dir.Path))
        {
            Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default), count: 5);
        }

        Assert.False(File.Exists(dir.Sub("orders-0/partition.metadata")));
        Uuid topicId = Uuid.NewRandom();
        using LogManager reopened = Open(dir.Path);

        PartitionLog log = reopened.GetOrCreateLog("orders", 0, LogConfig.Default, topicId);

        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal(topicId, PartitionMetadataFile.Read(dir.Sub("orders-0")));
    }

    [Fact]
    public void A_malformed_partition_metadata_file_fails_with_a_clear_error_and_deletes_nothing()
    {
        using var dir = new TempDirectory();
        using (LogManager manager = Open(dir.Path))
        {
            Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default, Uuid.NewRandom()), count: 5);
        }

        File.WriteAllText(dir.Sub("orders-0/partition.metadata"), "version: 0\ntopic_id: garbage\n");
        using LogManager reopened = Open(dir.Path);

        var error = Assert.Throws<InvalidDataException>(() => reopened.GetOrCreateLog("orders", 0, LogConfig.Default, Uuid.NewRandom()));

        Assert.Contains("partition.metadata", error.Message, StringComparison.Ordinal);
        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? kept));
        Assert.Equal(5, kept.LogEndOffset);
    }

    [Fact]
    public void DeleteLog_forgets_the_topic_id()
    {
        using var dir = new TempDirectory();
        using LogManager manager = Open(dir.Path);
        manager.GetOrCreateLog("orders", 0, LogConfig.Default, Uuid.NewRandom());

        manager.DeleteLog("orders", 0);
        manager.GetOrCreateLog("orders", 0, LogConfig.Default);

        Assert.False(manager.TryGetTopicId("orders", 0, out _));
    }
}
