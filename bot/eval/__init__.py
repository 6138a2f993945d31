"""Benchmark harnesses: `newsbot eval retrieval|answers --dataset multihop|realtimeqa`."""
