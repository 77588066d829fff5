// Each cluster test runs three voters with sub-second election timeouts; on a small machine, running clusters side
// by side only makes those timeouts flaky, so tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
