"""Signals as the kernel keeps them: per process, an action per signal, a blocked mask and
the pending set, as Linux's task_struct keeps sighand, blocked and pending.

This is bookkeeping only. What a signal number means, its default action, and how a
handler is entered and left (the frame on the user stack) belong to the personality that
speaks signals (abi/linux/signal.py); xv6 has only kill, which does not come here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIG_DFL = 0
SIG_IGN = 1
NSIG = 64


def bit(sig: int) -> int:
    return 1 << (sig - 1)


@dataclass
class SigAction:
    handler: int = SIG_DFL  # SIG_DFL, SIG_IGN or the handler's user address
    flags: int = 0
    mask: int = 0  # blocked while the handler runs


@dataclass(frozen=True)
class SigInfo:
    """Why a signal was sent: for the handler's siginfo."""

    signo: int
    code: int = 0  # SI_USER, SI_TKILL, SEGV_MAPERR...
    pid: int = 0  # the sender, for kill
    addr: int = 0  # the faulting address, for SIGSEGV and SIGBUS


@dataclass
class SigState:
    actions: dict[int, SigAction] = field(default_factory=dict)
    blocked: int = 0
    pending: int = 0  # one bit per signal, bit(sig)
    info: dict[int, SigInfo] = field(default_factory=dict)
    altstack: tuple[int, int] | None = None  # sigaltstack: base and size, when enabled
    # rt_sigsuspend's caller's own mask, put back when the handler it waited for returns
    saved_mask: int | None = None

    def action(self, sig: int) -> SigAction:
        return self.actions.get(sig) or SigAction()

    def ready(self) -> int:
        """The pending signals that are not blocked."""
        return self.pending & ~self.blocked

    def post(self, info: SigInfo) -> None:
        """Make a signal pending. Standard signals do not queue: a second one while the
        first is pending is merged into it."""
        b = bit(info.signo)
        if not self.pending & b:
            self.pending |= b
            self.info[info.signo] = info

    def take(self, sig: int) -> SigInfo:
        self.pending &= ~bit(sig)
        return self.info.pop(sig, SigInfo(sig))

    def forked(self) -> SigState:
        """The child of fork keeps the actions, the mask and the alternate stack; nothing
        is pending for it."""
        acts = {s: SigAction(a.handler, a.flags, a.mask) for s, a in self.actions.items()}
        return SigState(acts, self.blocked, 0, {}, self.altstack)

    def exec_reset(self) -> None:
        """exec: handlers are gone with the old program, so caught signals go back to their
        default action; ignored ones stay ignored; the mask and pending set stay."""
        self.actions = {s: SigAction(SIG_IGN) for s, a in self.actions.items() if a.handler == SIG_IGN}
        self.altstack = None
