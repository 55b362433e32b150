// The package tests start emulators and app hosts that use the engine and fixed resources (the tool path, the
// global package cache): one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
