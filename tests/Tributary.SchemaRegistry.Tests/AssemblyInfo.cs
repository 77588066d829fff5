// Every test class starts real broker and registry processes; on a small shared machine more than two at a time starve
// each other's start-up (a broker not ready within the harness's 30 s), so at most two classes run at once.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
