"""What exec hands to a personality's start-up and gets back (Abi.start): the image built
so far, and the layout of its stack and heap. Apart from exec.py so that the start-ups
(abi/*/startup) need nothing of exec itself."""

from __future__ import annotations

from dataclasses import dataclass

from pagelab.kernel.elf import ElfImage
from pagelab.kernel.mm.vma import Vma, VmaList


class ExecError(Exception):
    pass


@dataclass
class Image:
    """A new image being built aside, handed to the ABI's start-up (Abi.start)."""

    pagetable: int
    vmas: VmaList
    elf: ElfImage
    end: int  # the end of the loaded segments, page-rounded
    sz: int  # the highest address mapped outside a region so far (xv6's guard page)


@dataclass
class Layout:
    """What a start-up laid out: the first registers, and where the stack and heap are."""

    sp: int
    a0: int
    a1: int
    sz: int  # the program break
    stack_base: int
    heap: Vma
    rss: int  # frames the start-up mapped (the stack pages holding the arguments)
