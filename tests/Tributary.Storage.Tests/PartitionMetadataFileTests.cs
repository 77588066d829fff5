using System.Text;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class PartitionMetadataFileTests
{
    [Fact]
    public void Write_then_Read_returns_the_topic_id_in_Kafkas_text_format()
    {
        using var dir = new TempDirectory();
        Uuid topicId = Uuid.NewRandom();

        PartitionMetadataFile.Write(dir.Path, topicId);

        Assert.Equal(topicId, PartitionMetadataFile.Read(dir.Path));
        Assert.Equal(["version: 0", $"topic_id: {topicId}"], File.ReadAllLines(dir.Sub("partition.metadata")));
        Assert.False(File.Exists(dir.Sub("partition.metadata.tmp")));
    }

    [Fact]
    public void Read_of_a_directory_without_the_file_is_null()
    {
        using var dir = new TempDirectory();

        Assert.Null(PartitionMetadataFile.Read(dir.Path));
    }

    [Fact]
    public void Write_replaces_an_earlier_id()
    {
        using var dir = new TempDirectory();
        PartitionMetadataFile.Write(dir.Path, Uuid.NewRandom());
        Uuid second = Uuid.NewRandom();

        PartitionMetadataFile.Write(dir.Path, second);

        Assert.Equal(second, PartitionMetadataFile.Read(dir.Path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("version: 0\n")]
    [InlineData("version: 1\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n")]
    [InlineData("version: x\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n")]
    [InlineData("version: 0\ntopic_id: not-an-id\n")]
    [InlineData("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n")]
    [InlineData("topic_id: AAAAAAAAAAAAAAAAAAAAAQ\nversion: 0\n")]
    [InlineData("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\nextra: 1\n")]
    [InlineData("version: 0\ntopic_id: AAAAAAAAAAAAAAAA\u00e9AAAAAQ\n")]
    public void Read_of_a_malformed_file_names_the_file_and_the_problem(string content)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.Sub("partition.metadata"), Encoding.UTF8.GetBytes(content));

        var error = Assert.Throws<InvalidDataException>(() => PartitionMetadataFile.Read(dir.Path));

        Assert.Contains(dir.Sub("partition.metadata"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_refuses_an_oversized_file_without_reading_it_whole()
    {
        using var dir = new TempDirectory();
        using (var stream = File.Create(dir.Sub("partition.metadata")))
        {
            stream.SetLength(64L << 20);
        }

        var error = Assert.Throws<InvalidDataException>(() => PartitionMetadataFile.Read(dir.Path));

        Assert.Contains("more than the 1024 allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_accepts_a_file_without_a_trailing_newline()
    {
        using var dir = new TempDirectory();
        Uuid topicId = Uuid.NewRandom();
        File.WriteAllText(dir.Sub("partition.metadata"), $"version: 0\ntopic_id: {topicId}");

        Assert.Equal(topicId, PartitionMetadataFile.Read(dir.Path));
    }
}
