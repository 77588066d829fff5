// Every test here drives a real broker process plus real clients; on a 2-core machine running classes in
// parallel only makes timeouts flaky, so the suite runs one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
