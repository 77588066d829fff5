using Tributary.Broker.Config;

namespace Tributary.Broker.Tests.Config;

public sealed class JavaPropertiesTests
{
    [Fact]
    public void Parse_skips_hash_and_bang_comments_and_blank_lines()
    {
        var entries = JavaProperties.Parse("# comment\n! also a comment\n\n   \nkey=value\n");

        Assert.Equal(new JavaProperties.Entry("key", "value", 5), Assert.Single(entries));
    }

    [Theory]
    [InlineData("key=value")]
    [InlineData("key = value")]
    [InlineData("key: value")]
    [InlineData("key value")]
    [InlineData("  key=value  ")]
    [InlineData("key=value\r")]
    public void Parse_accepts_every_java_separator_and_trims(string line)
    {
        var entry = Assert.Single(JavaProperties.Parse(line));

        Assert.Equal(("key", "value"), (entry.Key, entry.Value));
    }

    [Fact]
    public void Parse_keeps_separators_inside_the_value()
    {
        var entry = Assert.Single(JavaProperties.Parse("listeners=PLAINTEXT://:9092"));

        Assert.Equal("PLAINTEXT://:9092", entry.Value);
    }

    [Fact]
    public void Parse_joins_backslash_continued_lines()
    {
        var entries = JavaProperties.Parse("controller.quorum.voters=1@a:9093,\\\n    2@b:9093\nnext=1");

        Assert.Equal(
            [new JavaProperties.Entry("controller.quorum.voters", "1@a:9093,2@b:9093", 1), new JavaProperties.Entry("next", "1", 3)],
            entries);
    }

    [Fact]
    public void Parse_decodes_escapes_in_keys_and_values()
    {
        var entry = Assert.Single(JavaProperties.Parse("a\\=b=tab\\there \\u0041"));

        Assert.Equal(("a=b", "tab\there A"), (entry.Key, entry.Value));
    }

    [Fact]
    public void Parse_reads_a_key_without_value_as_empty()
    {
        Assert.Equal("", Assert.Single(JavaProperties.Parse("broker.rack=")).Value);
    }

    [Fact]
    public void Parse_rejects_a_truncated_unicode_escape()
    {
        Assert.Throws<ConfigException>(() => JavaProperties.Parse("key=\\u00"));
    }
}
