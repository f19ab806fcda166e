"""Choice of compute device, in one place for every simulator.

A device is named ``"auto"``, ``"cpu"`` or ``"cuda"`` (``"auto"``: CUDA when torch sees a
GPU); torch code may also pass a ``torch.device``. :func:`resolve_device` answers with a name
and imports torch only when a GPU could be meant; :func:`torch_device` answers with a
``torch.device`` for the torch simulators.
"""

from __future__ import annotations

#: The device names that :func:`resolve_device` accepts.
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


def torch_device(device, default=None):
    """The ``torch.device`` meant by a name of :data:`DEVICES` or a ``torch.device``.

    Parameters
    ----------
    device : None, {"auto", "cpu", "cuda", "cuda:N"} or torch.device
        ``None`` stands for ``default``; ``"cuda:N"`` is the N-th GPU.
    default : None, str or torch.device
        What ``None`` means (e.g. the device of the tensors given); ``None``: no default,
        and ``device=None`` is refused.

    Returns
    -------
    torch.device

    Raises
    ------
    TypeError
        For a ``device`` of another type.
    ValueError
        For another name, or CUDA on a machine without it.
    """
    import torch

    if device is None and default is not None:
        device = default
    if isinstance(device, torch.device):
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device")
        return device
    if not isinstance(device, str):
        allowed = "None, " if default is not None else ""
        raise TypeError(f"device must be {allowed}one of {', '.join(DEVICES)} or a "
                        f"torch.device; got {type(device).__name__}")
    kind, _, index = device.partition(":")
    if kind == "cuda" and index:
        if not index.isdigit():
            raise ValueError(f"device must be one of {', '.join(DEVICES)} or cuda:N; "
                             f"got {device!r}")
        return torch_device(torch.device("cuda", int(index)))
    return torch.device(resolve_device(device))
