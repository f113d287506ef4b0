// Package storediff holds the stores to each other: the filesystem store
// and the Redis store implement the same rules twice (the index's eviction
// order, compare-and-set, counters, forwards), and its test runs the same
// random sequences of operations against both and compares what a user
// can observe. It has no code of its own beyond the test.
package storediff
