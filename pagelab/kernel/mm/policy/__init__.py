"""Page-replacement policies: which page to evict when no frame is free.

`--policy NAME` picks a built-in; `--policy module:Class` or `--policy file.py:Class` loads
a user's Policy subclass. The same classes serve the kernel and `pagelab replay`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from pagelab.kernel.mm.policy.aging import Aging
from pagelab.kernel.mm.policy.arc import Arc
from pagelab.kernel.mm.policy.base import (
    POLICY_RAISES,
    AccessBits,
    Policy,
    PolicyError,
    PolicyFailed,
    check_victim,
    policy_failure,
)
from pagelab.kernel.mm.policy.car import Car
from pagelab.kernel.mm.policy.clock import Clock
from pagelab.kernel.mm.policy.clockpro import ClockPro
from pagelab.kernel.mm.policy.fifo import Fifo
from pagelab.kernel.mm.policy.lfu import Lfu
from pagelab.kernel.mm.policy.linux import Linux
from pagelab.kernel.mm.policy.lirs import Lirs
from pagelab.kernel.mm.policy.lru import Lru
from pagelab.kernel.mm.policy.mglru import Mglru
from pagelab.kernel.mm.policy.mru import Mru
from pagelab.kernel.mm.policy.nfu import Nfu
from pagelab.kernel.mm.policy.nru import Nru
from pagelab.kernel.mm.policy.opt import Opt
from pagelab.kernel.mm.policy.rand import Random
from pagelab.kernel.mm.policy.s3fifo import S3Fifo
from pagelab.kernel.mm.policy.second_chance import SecondChance
from pagelab.kernel.mm.policy.sieve import Sieve
from pagelab.kernel.mm.policy.spec import split, with_params
from pagelab.kernel.mm.policy.twoq import TwoQ
from pagelab.kernel.mm.policy.ws import WorkingSet
from pagelab.kernel.mm.policy.wsclock import WsClock

_CLASSES: tuple[type[Policy], ...] = (
    *(Clock, Fifo, Lru, Nru, Aging, Random, Opt),  # the first seven
    *(SecondChance, Nfu, WorkingSet, WsClock, Mru, Lfu),  # the rest of the textbooks
    *(TwoQ, Arc, Car, Lirs, ClockPro, Sieve, S3Fifo),  # adaptive and modern
    *(Linux, Mglru),  # mm/vmscan.c and mm/workingset.c
)
BUILTIN: dict[str, type[Policy]] = {c.name: c for c in _CLASSES}
DEFAULT = "clock"

__all__ = [
    "BUILTIN",
    "DEFAULT",
    "POLICY_RAISES",
    "AccessBits",
    "Policy",
    "PolicyError",
    "PolicyFailed",
    "check_victim",
    "policy_class",
    "policy_failure",
]


def policy_class(spec: str) -> type[Policy]:
    """The class named by a --policy value, with its parameters set (`s3fifo:small=0.2`).
    Raises PolicyError with a one-line reason."""
    name, params = split(spec)
    return with_params(_named_class(name), params, spec)


def _named_class(spec: str) -> type[Policy]:
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" not in spec:
        raise PolicyError(f"unknown policy {spec!r} (built in: {', '.join(BUILTIN)}; or FILE.py:Class or module:Class)")
    where, _, attr = spec.rpartition(":")
    if where in BUILTIN:
        raise PolicyError(
            f"policy {spec!r}: parameters are NAME=VALUE, as in {where}:{next(iter(BUILTIN[where].PARAMS), 'x')}=..."
        )
    try:
        module = _load_module(where)
    except PolicyError:
        raise
    except Exception as e:  # a user's file may fail in any way: report it in one line
        raise PolicyError(f"policy {spec!r}: cannot import {where}: {type(e).__name__}: {e}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise PolicyError(f"policy {spec!r}: {where} has no Policy subclass named {attr!r}")
    return cls


def _load_module(where: str) -> object:
    if where.endswith(".py") or "/" in where:
        path = Path(where)
        if not path.is_file():
            raise PolicyError(f"policy file {where} not found")
        name = f"pagelab_user_policy_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PolicyError(f"policy file {where} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up here
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(where)
