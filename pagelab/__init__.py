"""pagelab: a Python kernel shaped like xv6-riscv, running real RISC-V programs on Sv39 page tables."""

__version__ = "0.1.0"
