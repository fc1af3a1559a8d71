# lfu.py
from collections import Counter

from pagelab.kernel.mm.policy import Policy


class Lfu(Policy):
    name = "lfu"
    wants_references = True  # in the kernel: count TLB fills too

    def __init__(self, bits, seed=0):
        super().__init__(bits, seed)
        self.uses = Counter()

    def referenced(self, frame):
        self.uses[frame] += 1

    def freed(self, frame):
        self.uses.pop(frame, None)

    def victim(self, candidates):
        return min(candidates, key=lambda f: self.uses[f])
