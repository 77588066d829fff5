using Tributary.Broker.Security;

namespace Tributary.Broker.Tests.Security;

public class AuthorizationTests
{
    [Fact]
    public void Without_an_authorizer_the_cluster_allows_its_seven_operations()
    {
        var field = Authorization.AllowAll.AuthorizedOperations(AclResourceType.Cluster, "kafka-cluster");

        // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
        Assert.Equal((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12), field);
    }

    [Fact]
    public void Without_an_authorizer_a_topic_allows_its_eight_operations()
    {
        var field = Authorization.AllowAll.AuthorizedOperations(AclResourceType.Topic, "orders");

        // READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
        Assert.Equal(0b1101_1111_1000, field);
    }

    [Fact]
    public void Without_an_authorizer_a_group_allows_read_describe_delete_and_its_configs()
    {
        var field = Authorization.AllowAll.AuthorizedOperations(AclResourceType.Group, "g");

        Assert.Equal(Authorization.ToBitField([AclOperation.Read, AclOperation.Describe, AclOperation.Delete,
            AclOperation.DescribeConfigs, AclOperation.AlterConfigs]), field);
    }

    [Fact]
    public void Pattern_resource_types_have_no_operations_of_their_own()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Authorization.SupportedOperations(AclResourceType.Any));
    }
}
