"""Observation: turning the kernel's events and counters into stats, traces and views."""
