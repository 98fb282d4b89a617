"""Charging: the charge order and its state machine, pile events, meter batches, the pile port
and commands, watchdogs."""
