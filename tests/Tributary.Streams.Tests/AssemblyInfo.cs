// Every test drives Streamiz against one shared real 3-broker cluster; on a shared 2-core machine classes run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
