using Tributary.Broker.Requests;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Tells a client which APIs and versions this broker serves: exactly the generated catalog.</summary>
public sealed class ApiVersionsHandler
{
    public ApiVersionsResponse Handle(RequestContext context, ApiVersionsRequest request) => Build();

    public static ApiVersionsResponse Build()
    {
        var response = new ApiVersionsResponse();
        foreach (var api in ApiCatalog.All)
        {
            response.ApiKeys.Add(new ApiVersionsResponse.ApiVersion
            {
                ApiKey = api.ApiKey,
                MinVersion = api.LowestVersion,
                MaxVersion = api.HighestVersion,
            });
        }

        return response;
    }
}
