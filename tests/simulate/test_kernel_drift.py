"""Kernel drift in training against the linearised model and a gradient step by hand."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from jamming.simulate.features import sphere_inputs
from jamming.simulate.kernel_drift import train_kernel_drift
from jamming.simulate.networks import DenseNetwork, forward, init_networks, network_outputs

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("single_threaded")


def test_kernel_drift_is_zero_at_start_and_decreases_with_width():
    d, n = 3, 8
    x = sphere_inputs(n, d, 0)
    x_test = sphere_inputs(4, d, 1)
    y = np.sign(x[:, 0])
    finals, gaps = [], []
    for width in (16, 512):
        network = DenseNetwork(d, width, depth=1, activation="relu", W_std=1.4, bias=True,
                               b_std=0.1)
        params = init_networks(network, 3, n_networks=3)
        before = {name: value.clone() for name, value in params.items()}
        run = train_kernel_drift(network, params, x, y, learning_rate=0.05,
                                 record_at=[0, 10, 100], test_inputs=x_test,
                                 keep_kernels=True)
        assert all(torch.equal(before[name], params[name]) for name in params)
        assert run.drift.shape == run.loss.shape == run.parameter_distance.shape == (3, 3)
        assert run.train_outputs.shape == (3, 3, n) and run.test_outputs.shape == (3, 3, 4)
        assert np.all(run.drift[:, 0] == 0.0) and np.all(run.parameter_distance[:, 0] == 0)
        assert_allclose(run.train_outputs[:, 0], network_outputs(network, params, x))
        assert_allclose(run.kernels[:, 0], run.kernel0)
        assert np.all(run.loss[:, -1] < run.loss[:, 0])
        finals.append(run.drift[:, -1].mean())
        # The linearised model with the initial kernel: f_t = y + (1 - eta K0)^t (f0 - y).
        linear = np.stack([y + np.linalg.matrix_power(np.eye(n) - 0.05 * k, 100)
                           @ (f0 - y) for k, f0 in zip(run.kernel0, run.train_outputs[:, 0],
                                                      strict=True)])
        gaps.append(np.abs(run.train_outputs[:, -1] - linear).max())
    assert finals[1] < 0.5 * finals[0]
    assert gaps[1] < gaps[0]


def test_one_gradient_step_by_hand():
    network = DenseNetwork(2, 3, depth=1, activation="tanh", bias=True, b_std=0.5)
    params = init_networks(network, 0)
    x, y = sphere_inputs(4, 2, 0), np.arange(4.0)
    run = train_kernel_drift(network, params, x, y, learning_rate=0.1, record_at=[1])
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    outputs = forward(network, leaves, torch.as_tensor(x))
    loss = 0.5 * ((outputs - torch.as_tensor(y)) ** 2).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    stepped = {k: v - 0.1 * g for (k, v), g in zip(params.items(), grads, strict=True)}
    assert_allclose(run.train_outputs[:, 0], network_outputs(network, stepped, x), rtol=1e-13)


def test_function_validation():
    network = DenseNetwork(2, 3)
    params = init_networks(network, 0, n_networks=2)
    x = sphere_inputs(4, 2, 0)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        train_kernel_drift(network, params, x, np.zeros(4), learning_rate=0, record_at=[1])
    with pytest.raises(ValueError, match="record_at must be a non-empty increasing"):
        train_kernel_drift(network, params, x, np.zeros(4), learning_rate=0.1,
                           record_at=[3, 1])
    with pytest.raises(ValueError, match="train_targets must be finite with shape"):
        train_kernel_drift(network, params, x, np.zeros(5), learning_rate=0.1, record_at=[1])


@pytest.mark.gpu
def test_cuda_matches_cpu():
    network = DenseNetwork(5, 64, depth=2, activation="relu", W_std=1.4, bias=True, b_std=0.1)
    x = sphere_inputs(40, 5, 0)
    cuda_params = init_networks(network, 1, n_networks=3, device="cuda")
    assert cuda_params["W1"].device.type == "cuda"
    run = train_kernel_drift(network, cuda_params, x, np.ones(40), learning_rate=0.01,
                             record_at=[0, 3])
    assert run.drift.shape == (3, 2)
