"""Choice of compute device; torch is imported only when a GPU could be meant."""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """Turn ``"auto" | "cpu" | "cuda"`` into ``"cpu"`` or ``"cuda"``.

    ``"auto"`` picks CUDA when torch sees a GPU. ``"cpu"`` never imports torch.

    Raises
    ------
    ValueError
        For another name, or ``"cuda"`` on a machine without CUDA.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device")
    return "cuda" if available else "cpu"
