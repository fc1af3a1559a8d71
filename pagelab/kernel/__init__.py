"""The kernel: frames, page tables, faults, processes, syscalls, files. Imports only `hw`."""
