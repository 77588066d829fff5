using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tributary.Integration.Tests.Fuzz;

/// <summary>What the broker did with the frames of one run.</summary>
public sealed class FuzzTally
{
    private long _sent;
    private long _answered;
    private long _refused;
    private long _abandoned;

    /// <summary>Frames written to the broker.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Frames the broker answered with a response.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Connections the broker closed (one refused frame each; frames pipelined behind it were never read).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Frames still unanswered when the fuzzer gave up waiting and dropped the connection (slow requests such
    /// as long-polling fetches or joins waiting for a rebalance).</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    internal void AddSent(long n) => Interlocked.Add(ref _sent, n);

    internal void AddAnswered(long n) => Interlocked.Add(ref _answered, n);

    internal void AddRefused() => Interlocked.Increment(ref _refused);

    internal void AddAbandoned(long n) => Interlocked.Add(ref _abandoned, n);

    public override string ToString() => $"sent {Sent:N0}, answered {Answered:N0}, refused (connection closed) {Refused:N0}, abandoned (no answer within the wait) {Abandoned:N0}";
}

/// <summary>
/// Sends frames to a broker over several raw TCP connections at once, a few pipelined per connection, reading every
/// response (so the broker never blocks on a full socket) and reconnecting whenever the broker closes a connection.
/// </summary>
public sealed class FuzzDriver(int port, int connections = 4, int pipelined = 4)
{
    /// <summary>How long a connection may go without any answer before the fuzzer drops it.</summary>
    public TimeSpan AnswerWait { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Sends <paramref name="count"/> frames made by <paramref name="next"/> (called under a lock, in order),
    /// optionally remembering each one in <paramref name="sentFrames"/> (for saving a batch that caused a problem).</summary>
    public async Task RunAsync(Func<FuzzFrame> next, long count, FuzzTally tally, List<FuzzFrame>? sentFrames, CancellationToken cancellation)
    {
        var gate = new Lock();
        long handedOut = 0;

        List<FuzzFrame> Take()
        {
            lock (gate)
            {
                var take = (int)Math.Min(pipelined, count - handedOut);
                var frames = new List<FuzzFrame>(Math.Max(take, 0));
                for (var i = 0; i < take; i++)
                {
                    frames.Add(next());
                }

                handedOut += frames.Count;
                sentFrames?.AddRange(frames);
                return frames;
            }
        }

        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(() => WorkAsync(Take, tally, cancellation), cancellation)).ToList();
        await Task.WhenAll(workers);
    }

    private async Task WorkAsync(Func<List<FuzzFrame>> take, FuzzTally tally, CancellationToken cancellation)
    {
        Socket? socket = null;
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                var frames = take();
                if (frames.Count == 0)
                {
                    return;
                }

                if (socket is null)
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellation);
                }

                var outcome = await ExchangeAsync(socket, frames, buffer, cancellation);
                tally.AddSent(frames.Count);
                tally.AddAnswered(outcome.Answered);
                if (outcome.Closed)
                {
                    tally.AddRefused();
                }
                else if (outcome.Answered < frames.Count)
                {
                    tally.AddAbandoned(frames.Count - outcome.Answered);
                }

                if (outcome.Closed || outcome.Answered < frames.Count)
                {
                    socket.Dispose();
                    socket = null;
                }
            }
        }
        finally
        {
            socket?.Dispose();
        }
    }

    private readonly record struct Outcome(int Answered, bool Closed);

    /// <summary>Writes the frames back to back, then reads size-prefixed responses until each frame has one, the broker
    /// closes, or <see cref="AnswerWait"/> passes without progress.</summary>
    private async Task<Outcome> ExchangeAsync(Socket socket, List<FuzzFrame> frames, byte[] buffer, CancellationToken cancellation)
    {
        var payload = frames.SelectMany(f => f.Bytes).ToArray();
        try
        {
            using var sendTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            sendTimeout.CancelAfter(AnswerWait * 5);
            await socket.SendAsync(payload, SocketFlags.None, sendTimeout.Token);
        }
        catch (SocketException)
        {
            return new Outcome(0, Closed: true);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new Outcome(0, Closed: false); // the broker stopped reading (back-pressure): drop this connection
        }

        var answered = 0;
        var pending = 0L; // bytes of the current response still to skip
        var prefix = new byte[4];
        var prefixFilled = 0;
        while (answered < frames.Count)
        {
            int n;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
            {
                wait.CancelAfter(AnswerWait);
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                }
                catch (SocketException)
                {
                    return new Outcome(answered, Closed: true);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    return new Outcome(answered, Closed: false);
                }
            }

            if (n == 0)
            {
                return new Outcome(answered, Closed: true);
            }

            var at = 0;
            while (at < n)
            {
                if (pending > 0)
                {
                    var skip = (int)Math.Min(pending, n - at);
                    pending -= skip;
                    at += skip;
                    if (pending == 0)
                    {
                        answered++;
                    }

                    continue;
                }

                var copy = Math.Min(4 - prefixFilled, n - at);
                Array.Copy(buffer, at, prefix, prefixFilled, copy);
                prefixFilled += copy;
                at += copy;
                if (prefixFilled == 4)
                {
                    prefixFilled = 0;
                    pending = BinaryPrimitives.ReadInt32BigEndian(prefix);
                    Debug.Assert(pending >= 0);
                    if (pending == 0)
                    {
                        answered++;
                    }
                }
            }
        }

        return new Outcome(answered, Closed: false);
    }
}
