"""Controller runtime: cache + informer (list/watch), work queue, leader election, event recorder, worker loop."""
