using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Raft;

namespace Tributary.Broker.Metadata;

/// <summary>Sends commands to the active controller, wherever it runs, and returns once this broker has seen the change.</summary>
/// <remarks>
/// While this node is the active controller the command goes straight to the local handler; otherwise it is encoded and
/// sent over the quorum's controller channel. NOT_CONTROLLER (no leader yet, a leader change, a lost connection) is
/// retried with backoff until the request timeout (controller.quorum.request.timeout.ms) runs out, which yields a
/// REQUEST_TIMED_OUT reply of the requested type — never an exception for an expected condition. A successful write
/// is followed by a bounded wait for the local loader to apply it, so the caller reads its own write from
/// <see cref="MetadataLoader.Current"/> (Kafka brokers give clients the same guarantee by waiting on their metadata
/// cache after a forwarded request).
/// </remarks>
public sealed partial class ControllerClient
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    private readonly IMetadataLog _log;
    private readonly MetadataLoader _loader;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private IControllerCommandHandler? _local;

    /// <param name="timeout">How long one <see cref="SendAsync{TReply}"/> may take in total, retries and the wait for the
    /// local image included (controller.quorum.request.timeout.ms).</param>
    public ControllerClient(IMetadataLog log, MetadataLoader loader, TimeSpan timeout, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(loader);
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The controller request timeout must be positive");
        }

        _log = log;
        _loader = loader;
        _timeout = timeout;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Routes commands to the controller this node hosts, without encoding, while it is the active one.</summary>
    public void SetLocal(IControllerCommandHandler local)
    {
        ArgumentNullException.ThrowIfNull(local);
        Volatile.Write(ref _local, local);
    }

    /// <summary>Sends <paramref name="command"/> to the active controller and returns its reply, or a
    /// REQUEST_TIMED_OUT reply when no controller answered in time.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task<TReply> SendAsync<TReply>(ControllerCommand command, CancellationToken cancellationToken)
        where TReply : ControllerReply
    {
        ArgumentNullException.ThrowIfNull(command);
        var deadline = _time.GetTimestamp() + (long)(_timeout.TotalSeconds * _time.TimestampFrequency);
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var backoff = FirstBackoff;
        var attempts = 0;
        try
        {
            while (true)
            {
                attempts++;
                var reply = await TryOnceAsync(command, linked.Token).ConfigureAwait(false);
                if (reply is not null && reply.Error != ErrorCode.NotController)
                {
                    var typed = AsReply<TReply>(reply);
                    if (typed.IsOk && typed.Offset >= 0)
                    {
                        await WaitUntilAppliedAsync(typed.Offset, command, linked.Token, cancellationToken).ConfigureAwait(false);
                    }

                    return typed;
                }

                var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                await Task.Delay(backoff < remaining ? backoff : remaining, _time, linked.Token).ConfigureAwait(false);
                backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            // The request timeout fired mid-attempt or mid-backoff.
        }

        LogTimedOut(_logger, command.GetType().Name, attempts, _timeout.TotalMilliseconds);
        return ErrorReply<TReply>(ErrorCode.RequestTimedOut,
            $"No active controller answered within {_timeout.TotalMilliseconds} ms (controller.quorum.request.timeout.ms)");
    }

    /// <summary>The reply of one attempt, or null when the attempt hit NOT_CONTROLLER and should be retried.</summary>
    private async Task<ControllerReply?> TryOnceAsync(ControllerCommand command, CancellationToken cancellationToken)
    {
        var local = Volatile.Read(ref _local);
        byte[] answer;
        ControllerCall call;
        try
        {
            if (local is not null && local.IsActive)
            {
                return await local.HandleAsync(command, cancellationToken).ConfigureAwait(false);
            }

            call = ControllerCalls.ToCall(command);
            answer = await _log.CallControllerAsync(call, cancellationToken).ConfigureAwait(false);
        }
        catch (NotControllerException e)
        {
            LogRetrying(_logger, command.GetType().Name, e.LeaderId);
            return null;
        }
        catch (ControllerCallFailedException e)
        {
            // The controller's handler threw: a bug there, which a retry would only repeat.
            LogRemoteFailed(_logger, command.GetType().Name, e);
            return new ControllerReply(ErrorCode.UnknownServerError, e.Message);
        }

        try
        {
            return ControllerCalls.DecodeReply(call.ApiKey, answer);
        }
        catch (MalformedMessageException e)
        {
            // Both ends run the same build; an undecodable answer is a bug or a version skew, not worth retrying.
            LogBadReply(_logger, command.GetType().Name, e);
            return new ControllerReply(ErrorCode.UnknownServerError, $"Undecodable controller reply: {e.Message}");
        }
    }

    private async Task WaitUntilAppliedAsync(long offset, ControllerCommand command, CancellationToken bounded, CancellationToken caller)
    {
        try
        {
            await _loader.WaitForOffsetAsync(offset, bounded).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            // The change is committed; answering with it is still right, the caller may just not see it here yet.
            LogApplyWaitTimedOut(_logger, command.GetType().Name, offset, _loader.Current.Offset);
        }
    }

    /// <summary>The reply as <typeparamref name="TReply"/>: a plain error reply (e.g. from a controller that did not
    /// understand the command) becomes an error reply of the requested type.</summary>
    private static TReply AsReply<TReply>(ControllerReply reply)
        where TReply : ControllerReply
    {
        if (reply is TReply typed)
        {
            return typed;
        }

        return reply.IsOk
            ? ErrorReply<TReply>(ErrorCode.UnknownServerError, $"The controller answered with {reply.GetType().Name}, not {typeof(TReply).Name}")
            : ErrorReply<TReply>(reply.Error, reply.Message);
    }

    /// <summary>An error reply of any reply type (<see cref="ControllerReplies.Error{TReply}"/>).</summary>
    public static TReply ErrorReply<TReply>(ErrorCode error, string? message)
        where TReply : ControllerReply =>
        ControllerReplies.Error<TReply>(error, message);


    [LoggerMessage(EventId = 1220, EventName = "ControllerRequestRetrying", Level = LogLevel.Debug,
        Message = "{Command}: not the active controller (leader {LeaderId}); retrying")]
    private static partial void LogRetrying(ILogger logger, string command, int leaderId);

    [LoggerMessage(EventId = 1221, EventName = "ControllerRequestTimedOut", Level = LogLevel.Warning,
        Message = "{Command}: no active controller answered after {Attempts} attempts within {TimeoutMs} ms")]
    private static partial void LogTimedOut(ILogger logger, string command, int attempts, double timeoutMs);

    [LoggerMessage(EventId = 1222, EventName = "ControllerReplyUndecodable", Level = LogLevel.Error,
        Message = "{Command}: the controller's reply could not be decoded")]
    private static partial void LogBadReply(ILogger logger, string command, Exception exception);

    [LoggerMessage(EventId = 1224, EventName = "ControllerHandlerFailed", Level = LogLevel.Error,
        Message = "{Command}: the active controller failed to handle the request")]
    private static partial void LogRemoteFailed(ILogger logger, string command, Exception exception);

    [LoggerMessage(EventId = 1223, EventName = "ControllerApplyWaitTimedOut", Level = LogLevel.Warning,
        Message = "{Command}: committed at metadata offset {Offset} but the local image is still at {Applied} after the request timeout")]
    private static partial void LogApplyWaitTimedOut(ILogger logger, string command, long offset, long applied);
}
