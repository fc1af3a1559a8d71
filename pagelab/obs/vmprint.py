"""vmprint: a page table as xv6's page-table lab prints it, with the PTE bits spelled out."""

from __future__ import annotations

from typing import IO

from pagelab.hw.mmu import entries
from pagelab.hw.ram import PhysMem
from pagelab.hw.sv39 import PTE_A, PTE_D, PTE_R, PTE_RSW0, PTE_U, PTE_W, PTE_X, pte2pa
from pagelab.kernel.events import Event, ExecEvent

_BITS = ((PTE_R, "r"), (PTE_W, "w"), (PTE_X, "x"), (PTE_U, "u"), (PTE_A, "a"), (PTE_D, "d"), (PTE_RSW0, "c"))


def flags(pte: int) -> str:
    """'rw-u-dc'-style: each letter is a bit that is set (c = COW, the first RSW bit)."""
    return "".join(ch if pte & bit else "-" for bit, ch in _BITS)


def vmprint(ram: PhysMem, root: int) -> list[str]:
    """One line per valid PTE, indented by depth, leaves with their virtual address."""
    lines = [f"page table {root:#018x}"]
    for depth, i, va, pte in entries(ram, root):
        line = f"{' ..' * (depth + 1)}{i}: pte {pte:#018x} pa {pte2pa(pte):#018x}"
        if pte & (PTE_R | PTE_W | PTE_X):
            line += f" {flags(pte)} va {va:#x}"
        lines.append(line)
    return lines


class VmPrinter:
    """A listener that prints each new image's page table, as xv6 prints init's."""

    def __init__(self, ram: PhysMem, out: IO[str]) -> None:
        self.ram = ram
        self.out = out

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, ExecEvent):
            abi = "" if ev.abi == "xv6" else f", abi {ev.abi}"  # no mark: xv6, as before there were two
            self.out.write(f"vmprint: pid {ev.pid} exec {ev.name}, size {ev.sz:#x}{abi}\n")
            self.out.write("\n".join(vmprint(self.ram, ev.pagetable)) + "\n")
            self.out.flush()
