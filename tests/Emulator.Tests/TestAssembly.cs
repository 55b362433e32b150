// The test classes run one after another: several in-process emulators starting at once on a small machine made a
// class fixture's start fail now and then (its host disposed before it started), and the engine tests measure timings.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
