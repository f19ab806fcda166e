r"""Kernel drift: how far the empirical NTK of trained networks moves (S3, seed 001).

:func:`train_kernel_drift` trains networks by full-batch gradient descent on the square loss
(the trainer of :mod:`jamming.simulate.networks`) and records, at chosen steps,
:math:`\|\Theta_t - \Theta_0\|_F/\|\Theta_0\|_F`, the outputs, the loss and the distance
travelled in parameter space: the finite-width effects that vanish in the lazy, infinite-width
limit (:math:`\|\Theta_t - \Theta_0\| = O(1/h)` for width :math:`h`).

torch is imported inside the functions, so that importing this module stays light.

References
----------
A. Jacot, F. Gabriel, C. Hongler, NeurIPS (2018). J. Lee *et al.*, "Wide neural networks of
any depth evolve as linear models under gradient descent", NeurIPS (2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jamming.simulate.networks import (
    DenseNetwork,
    GradientDescent,
    as_inputs,
    as_parameters,
    as_targets,
    check_record_at,
    empirical_ntk,
    forward,
    train,
)


@dataclass(frozen=True)
class DriftRun:
    r"""Gradient-descent training of networks, recorded at given steps.

    Attributes
    ----------
    steps : numpy.ndarray of int, shape (n_times,)
        The recorded steps :math:`t` (``record_at``).
    drift : numpy.ndarray, shape (n_networks, n_times)
        :math:`\|\Theta_t - \Theta_0\|_F/\|\Theta_0\|_F` on the kernel inputs.
    train_outputs : numpy.ndarray, shape (n_networks, n_times, n_train)
    test_outputs : numpy.ndarray, shape (n_networks, n_times, n_test), or None
    loss : numpy.ndarray, shape (n_networks, n_times)
        :math:`\frac12\sum_\mu (f_t(x_\mu) - y_\mu)^2`.
    parameter_distance : numpy.ndarray, shape (n_networks, n_times)
        :math:`\|\theta_t - \theta_0\|_2` over all parameters.
    kernel0 : numpy.ndarray, shape (n_networks, n_kernel, n_kernel)
        :math:`\Theta_0` (for the linearised flow).
    kernels : numpy.ndarray, shape (n_networks, n_times, n_kernel, n_kernel), or None
        :math:`\Theta_t` (``keep_kernels=True``).
    """

    steps: np.ndarray
    drift: np.ndarray
    train_outputs: np.ndarray
    test_outputs: np.ndarray | None
    loss: np.ndarray
    parameter_distance: np.ndarray
    kernel0: np.ndarray
    kernels: np.ndarray | None = None


def train_kernel_drift(network: DenseNetwork, params: dict, train_inputs, train_targets, *,
                       learning_rate: float, record_at, test_inputs=None,
                       kernel_inputs=None, device=None,
                       keep_kernels: bool = False) -> DriftRun:
    r"""Train by full-batch gradient descent on the square loss and record the kernel drift.

    :func:`jamming.simulate.networks.train` with
    :class:`~jamming.simulate.networks.GradientDescent` and the ``"square"`` loss (summed over
    the points), observing the empirical NTK on the kernel inputs, the outputs and the
    distance travelled (the loss is the trainer's).

    Every network of the parameter set is trained independently (one batched computation)
    on :math:`\mathcal{L}(\theta) = \frac12\sum_{\mu=1}^{n}(f(x_\mu;\theta) - y_\mu)^2` by
    :math:`\theta_{t+1} = \theta_t - \eta\nabla\mathcal{L}(\theta_t)` (plain steps on the
    NTK-parametrised :math:`W^l, b^l`, whose entries are :math:`O(1)`). To first order in
    :math:`\eta`, :math:`f_{t+1} - f_t = J_t(\theta_{t+1} - \theta_t) =
    -\eta\,\Theta_t(f_t - y)`: the steps are Euler steps of unit time of
    :math:`\dot f = -\eta\,\Theta(f - y)`, so with a frozen kernel (the linearised model)
    :math:`f_t = y + (1 - \eta\Theta_0)^t(f_0 - y) \approx y + e^{-\eta\Theta_0 t}(f_0 - y)`
    with :math:`t` the step count, and on test points
    :math:`f_t(x) = f_0(x) - \Theta_0(x, X)\Theta_0^{-1}(1 - e^{-\eta\Theta_0 t})(f_0 - y)`.
    Since :math:`\Theta(x_\mu, x_\nu) = O(1)`, :math:`\lambda_\max(\Theta_0) = O(n)` and the
    steps are stable only for :math:`\eta < 2/\lambda_\max(\Theta_0)`; take
    :math:`\eta\lambda_\max \ll 1` to compare with the exponential.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Initial parameter set (:func:`.init_networks`); not modified.
    train_inputs : array_like or torch.Tensor, shape (n_train, d)
    train_targets : array_like, shape (n_train,) or (n_networks, n_train)
        :math:`y`, shared by the networks or one row each.
    learning_rate : float
        :math:`\eta > 0`.
    record_at : sequence of int
        Increasing steps :math:`\ge 0` at which to record; training stops at the last one.
    test_inputs : array_like or torch.Tensor, shape (n_test, d), or None
    kernel_inputs : array_like or torch.Tensor, shape (n_kernel, d), or None
        Inputs of the kernel whose drift is measured; ``None``: ``train_inputs``.
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.
    keep_kernels : bool
        Keep :math:`\Theta_t` at every recorded step.

    Returns
    -------
    DriftRun
    """
    import torch

    params, target = as_parameters(network, params, device)
    train_inputs = as_inputs(network, train_inputs, target, name="train_inputs")
    if test_inputs is not None:
        test_inputs = as_inputs(network, test_inputs, target, name="test_inputs")
    kernel_inputs = (train_inputs if kernel_inputs is None
                     else as_inputs(network, kernel_inputs, target, name="kernel_inputs"))
    optimizer = GradientDescent(learning_rate)
    record_at = check_record_at(record_at)
    n_networks, n_train = params["W1"].shape[0], train_inputs.shape[0]
    targets = as_targets(train_targets, n_networks, n_train, target, name="train_targets")
    kernel0 = empirical_ntk(network, params, kernel_inputs, to_numpy=False)
    kernel0_norm = torch.linalg.matrix_norm(kernel0)

    def observe(current, step):
        kernel = empirical_ntk(network, current, kernel_inputs, to_numpy=False)
        outputs = forward(network, current, train_inputs)
        records = {
            "drift": torch.linalg.matrix_norm(kernel - kernel0) / kernel0_norm,
            "train": outputs,
            "distance": torch.sqrt(sum(((current[name] - params[name]) ** 2)
                                       .reshape(n_networks, -1).sum(dim=1)
                                       for name in current))}
        if test_inputs is not None:
            records["test"] = forward(network, current, test_inputs)
        if keep_kernels:
            records["kernels"] = kernel
        return records

    run = train(network, params, train_inputs, targets, optimizer=optimizer,
                record_at=record_at, loss="square", observe=observe)
    records = run.records
    return DriftRun(steps=run.steps, drift=records["drift"], train_outputs=records["train"],
                    test_outputs=records.get("test"), loss=run.loss,
                    parameter_distance=records["distance"], kernel0=kernel0.cpu().numpy(),
                    kernels=records.get("kernels"))
