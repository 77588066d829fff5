using Tributary.Broker.Requests;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Tests.Requests;

public sealed class RequestDispatcherTests
{
    [Fact]
    public void Every_api_advertised_in_ApiVersions_has_a_handler_and_no_handler_is_unadvertised()
    {
        var advertised = ApiCatalog.All.Select(a => (ApiKeys)a.ApiKey).Order().ToArray();
        var handled = RequestDispatcher.HandledApis.Order().ToArray();

        Assert.Equal(advertised, handled);
    }

    [Fact]
    public void ApiVersions_answer_for_an_unknown_version_is_unsupported_version_with_our_ranges()
    {
        var response = RequestDispatcher.UnsupportedApiVersionsResponse();

        Assert.Equal((short)Tributary.Protocol.ErrorCode.UnsupportedVersion, response.ErrorCode);
        Assert.Equal(ApiCatalog.All.Length, response.ApiKeys.Count);
        var produce = Assert.Single(response.ApiKeys, k => k.ApiKey == ProduceRequest.ApiKey);
        Assert.Equal(ProduceRequest.LowestVersion, produce.MinVersion);
        Assert.Equal(ProduceRequest.HighestVersion, produce.MaxVersion);
    }
}
