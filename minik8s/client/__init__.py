"""Clients and the machinery every component shares: informers, work queue, events, leader election."""
