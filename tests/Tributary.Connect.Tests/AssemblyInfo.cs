// The worker tests drive real broker and worker processes; on a shared 2-core machine classes run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
