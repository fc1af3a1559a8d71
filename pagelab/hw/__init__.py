"""The simulated machine: RAM, the Sv39 format, the MMU walker, the hart. Knows nothing of processes."""
