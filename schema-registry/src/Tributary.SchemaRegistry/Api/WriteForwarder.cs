using Microsoft.AspNetCore.Http;
using Tributary.SchemaRegistry.Election;

namespace Tributary.SchemaRegistry.Api;

/// <summary>Sends a write that arrived at a non-writer instance to the elected writer and relays its answer unchanged.</summary>
internal sealed class WriteForwarder(HttpClient http)
{
    /// <summary>Marks a forwarded request, so a writer that lost its role meanwhile does not forward it again.</summary>
    public const string ForwardedHeader = "X-Tributary-Registry-Forwarded";

    public async Task ForwardAsync(HttpContext context, RegistryLeader leader, byte[] body)
    {
        if (context.Request.Headers.ContainsKey(ForwardedHeader))
        {
            throw RegistryException.ForwardingFailed("Error while forwarding the request to the leader: this instance received a forwarded request but is not the writer");
        }

        var target = new Uri($"{leader.Url}{context.Request.Path}{context.Request.QueryString}");
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (body.Length > 0 || context.Request.Method is "POST" or "PUT")
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType ?? RestSupport.V1Json);
        }

        request.Headers.TryAddWithoutValidation(ForwardedHeader, "1");
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw RegistryException.ForwardingFailed($"Error while forwarding the request to the leader {leader.Url}: {e.Message}");
        }
        catch (TaskCanceledException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw RegistryException.ForwardingFailed($"Error while forwarding the request to the leader {leader.Url}: timed out ({e.Message})");
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? RestSupport.V1Json;
            byte[] answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
