// Tests share the 2 cores of CI; heavy tests (model runs, training) are serialised by collection.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
