// The Harness target: experiments, runs, shards and results (see README.md).
