"""`--policy NAME:param=value,...`: parameters of a policy, parsed in one place.

A parameter is a class attribute listed in the class's PARAMS with its range. Setting one
makes a subclass with the new value, so the kernel, replay and sweep keep receiving a
class and build instances as before; `base_of` finds the built-in class again (replay's
compiled paths are keyed by it and read the values off the subclass).
"""

from __future__ import annotations

from pagelab.kernel.mm.policy.base import Policy, PolicyError


def split(spec: str) -> tuple[str, str]:
    """'s3fifo:small=0.1' -> ('s3fifo', 'small=0.1'); 'file.py:Lfu' -> ('file.py:Lfu', '');
    'file.py:Lfu:k=2' -> ('file.py:Lfu', 'k=2'). Parameters are the text after the last
    colon, when it holds an '='."""
    head, sep, tail = spec.rpartition(":")
    if sep and "=" in tail:
        return head, tail
    return spec, ""


def with_params(cls: type[Policy], text: str, spec: str) -> type[Policy]:
    """The subclass of `cls` with the parameters in `text` ('a=1,b=0.5') set."""
    if not text:
        return cls
    values: dict[str, object] = {}
    for item in text.split(","):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise PolicyError(f"policy {spec!r}: parameter {item!r} is not NAME=VALUE")
        if key not in cls.PARAMS:
            known = ", ".join(cls.PARAMS) or "none"
            raise PolicyError(f"policy {spec!r}: unknown parameter {key!r} (parameters of {cls.name}: {known})")
        default = getattr(cls, key)
        try:
            value: int | float = int(raw) if isinstance(default, int) else float(raw)
        except ValueError:
            kind = "an integer" if isinstance(default, int) else "a number"
            raise PolicyError(f"policy {spec!r}: {key} must be {kind}, not {raw.strip()!r}") from None
        lo, hi = cls.PARAMS[key]
        if not lo <= value <= hi:
            raise PolicyError(f"policy {spec!r}: {key} must be between {lo:g} and {hi:g}")
        values[key] = value
    sub = type(cls.__name__, (cls,), {**values, "__module__": cls.__module__, "variant_of": base_of(cls)})
    return sub


def base_of(cls: type[Policy]) -> type[Policy]:
    """The class a parameterised subclass was made from (else `cls` itself)."""
    base: type[Policy] = cls.__dict__.get("variant_of", cls)
    return base


def params_of(cls: type[Policy]) -> dict[str, int | float]:
    """The parameter values of `cls` (defaults included)."""
    return {k: getattr(cls, k) for k in cls.PARAMS}
