using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Operator.Hosting;
using Tributary.Operator.Kube;

namespace Tributary.Operator.Tests.Kube;

/// <summary>The watcher against a scripted API (a fake below the layer under test): what it lists, from which
/// resourceVersion it watches, and what it hands over.</summary>
public class ResourceWatcherTests
{
    private static V1ConfigMap Obj(string name, string rv) => new() { Metadata = new V1ObjectMeta { Name = name, ResourceVersion = rv } };

    private sealed class ScriptedApi
    {
        public int Lists;
        public List<string> WatchedFrom { get; } = [];
        public required Func<int, (IReadOnlyList<V1ConfigMap>, string)> OnList { get; init; }
        public required Func<int, Action<Exception>, IEnumerable<(WatchEventType, V1ConfigMap)>> OnWatch { get; init; }

        /// <summary>Ends the test: the watcher's token is cancelled and this watch yields nothing.</summary>
        public static IEnumerable<(WatchEventType, V1ConfigMap)> EndTest(CancellationTokenSource stop) { stop.Cancel(); return []; }
        public required CancellationTokenSource Stop { get; init; }

        public Task<(IReadOnlyList<V1ConfigMap>, string)> ListAsync(CancellationToken _) => Task.FromResult(OnList(++Lists));

        public async IAsyncEnumerable<(WatchEventType, V1ConfigMap)> WatchAsync(string rv, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
        {
            WatchedFrom.Add(rv);
            await Task.Yield();
            foreach (var e in OnWatch(WatchedFrom.Count, onError))
            {
                ct.ThrowIfCancellationRequested();
                yield return e;
            }
        }
    }

    private static async Task<List<string>> RunAsync(ScriptedApi api)
    {
        var seen = new List<string>();
        using var metrics = new OperatorMetrics();
        var watcher = new ResourceWatcher<V1ConfigMap>("configmaps", api.ListAsync, api.WatchAsync, o => seen.Add(o.Metadata.Name), metrics, NullLogger.Instance, TimeProvider.System);
        await watcher.RunAsync(api.Stop.Token);
        return seen;
    }

    [Fact]
    public async Task Resumes_from_the_last_version_seen_bookmarks_included_when_the_server_ends_a_watch()
    {
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var api = new ScriptedApi
        {
            Stop = stop,
            OnList = _ => ([Obj("a", "10")], "10"),
            OnWatch = (n, _) => n switch
            {
                1 => [(WatchEventType.Modified, Obj("b", "11")), (WatchEventType.Bookmark, Obj("", "15"))],
                _ => ScriptedApi.EndTest(stop),
            },
        };
        var seen = await RunAsync(api);
        Assert.Equal(1, api.Lists);
        Assert.Equal(["10", "15"], api.WatchedFrom);
        Assert.Equal(["a", "b"], seen);
    }

    [Fact]
    public async Task Lists_again_and_hands_over_every_object_after_410_gone()
    {
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var api = new ScriptedApi
        {
            Stop = stop,
            OnList = n => n == 1 ? ([Obj("a", "10")], "10") : ([Obj("a", "30"), Obj("c", "31")], "31"),
            OnWatch = (n, onError) => n switch
            {
                1 => Gone(onError),
                _ => ScriptedApi.EndTest(stop),
            },
        };
        IEnumerable<(WatchEventType, V1ConfigMap)> Gone(Action<Exception> onError)
        {
            onError(new KubernetesException(new V1Status { Code = 410, Reason = "Expired", Message = "too old resource version" }));
            return [];
        }

        var seen = await RunAsync(api);
        Assert.Equal(2, api.Lists);
        Assert.Equal(["10", "31"], api.WatchedFrom);
        Assert.Equal(["a", "a", "c"], seen);
    }

    [Fact]
    public async Task Reconnects_from_the_same_version_after_a_broken_connection()
    {
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var api = new ScriptedApi
        {
            Stop = stop,
            OnList = _ => ([], "5"),
            OnWatch = (n, _) => n switch
            {
                1 => throw new HttpRequestException("connection reset"),
                _ => ScriptedApi.EndTest(stop),
            },
        };
        await RunAsync(api);
        Assert.Equal(1, api.Lists);
        Assert.Equal(["5", "5"], api.WatchedFrom);
    }
}
