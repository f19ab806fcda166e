"""One convention per concept across theory and simulation (``docs/notes/conventions.md``).

Theory and simulation never import each other, so these tests hold them to the same names
and meanings: one spelling of the weight scale, one meaning of a zero bias scale, one name
for psi, one spelling per loss and activation name; and, at their public boundaries, the
same treatment of arrays where scalars are expected and of NaN inputs.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import fields, is_dataclass

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jamming.simulate
import jamming.theory
from jamming import validation
from jamming.theory import (
    activations,
    bottleneck,
    capacity,
    kernels,
    mercer,
    parameters,
    random_matrix,
    sde,
    stabilization,
    teacher,
)


def _public_api():
    """``(qualified name, object, parameter names)`` of the public functions and classes of
    every module of theory and simulate (dataclasses by their fields)."""
    for package in (jamming.theory, jamming.simulate):
        for module_name in package.__all__:
            module = importlib.import_module(f"{package.__name__}.{module_name}")
            for name, obj in vars(module).items():
                if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                    continue
                if is_dataclass(obj):
                    names = [field.name for field in fields(obj)]
                elif inspect.isfunction(obj) or inspect.isclass(obj):
                    try:
                        names = list(inspect.signature(obj).parameters)
                    except (TypeError, ValueError):
                        continue
                else:
                    continue
                yield f"{module.__name__}.{name}", obj, names


#: Parameter names replaced by the one name of their concept.
REPLACED = {"w_std": "W_std", "features_per_dim": "psi"}

#: (callable, parameter): why it keeps a replaced name.
KEPT = {
    ("jamming.theory.bottleneck.bottleneck_kernels", "w_std"):
        "the scale of the bottleneck weight w, named with u_std, b_std, v_std after the "
        "parameters of a model whose layers each have their own",
}


def test_public_parameters_use_one_name_per_concept():
    found = [(qualname, name) for qualname, _, names in _public_api() for name in names
             if name in REPLACED and (qualname, name) not in KEPT]
    assert not found, [f"{q}: {n} -> {REPLACED[n]}" for q, n in found]


def test_psi_is_features_per_input_dimension():
    """``psi`` is N_eff/d wherever it is a parameter (Pennington & Worah's n_0/n_1 is
    ``dim_per_feature``)."""
    wrong = [qualname for qualname, obj, names in _public_api()
             if "psi" in names and not re.search(r"N_\\mathrm\{eff\}/d|N_eff/d",
                                                 inspect.getdoc(obj) or "")]
    assert not wrong


# -- biases ------------------------------------------------------------------------------------


def test_bias_flag_sets_the_parameters_and_the_jacobian_rank():
    """``bias`` says whether bias parameters exist (P and the Jacobian's rank); ``b_std`` is
    their scale. Biases that start at 0 (standard parametrisation) still train."""
    pytest.importorskip("torch")
    from jamming.simulate.networks import DenseNetwork, init_networks, jacobian

    x = np.random.default_rng(0).standard_normal((40, 3))

    def rank(network):
        return np.linalg.matrix_rank(jacobian(network, init_networks(network, 1), x)[0])

    without = DenseNetwork(3, 4, activation="tanh")
    scaled = DenseNetwork(3, 4, activation="tanh", bias=True, b_std=0.5)
    from_zero = DenseNetwork(3, 4, activation="tanh", bias=True, b_std=0.0,
                             parameterization="standard")
    assert without.n_parameters == rank(without) == 3 * 4 + 4
    assert scaled.n_parameters == from_zero.n_parameters == rank(scaled) == rank(from_zero) == 21
    start = init_networks(from_zero, 1)
    assert not start["b1"].any() and not start["b2"].any()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"bias": True, "b_std": 0.0}, ValueError, "biases of scale 0 never act"),
    ({"bias": True, "b_std": 0.0, "parameterization": "mean_field"}, ValueError, "never act"),
    ({"b_std": 0.5}, ValueError, "b_std must be 0 in dense layer 1, which has no bias"),
    ({"bias": (True, False), "b_std": 0.5}, ValueError, "dense layer 2"),
    ({"bias": True, "b_std": None}, TypeError, "b_std must be a real number"),
    ({"bias": 1, "b_std": 0.5}, TypeError, "bias must be a bool"),
])
def test_ambiguous_bias_settings_are_refused(kwargs, error, match):
    pytest.importorskip("torch")
    from jamming.simulate.networks import DenseNetwork

    with pytest.raises(error, match=match):
        DenseNetwork(3, 4, **kwargs)


def test_zero_bias_scale_is_no_bias_in_theory():
    """In the NTK parametrisation biases of scale 0 change neither kernel: b_std -> 0 is
    continuous and b_std = 0 is the bias-free network."""
    x = np.random.default_rng(1).standard_normal((5, 4))
    for depth in (1, 2):
        exact = kernels.nngp_ntk(x, None, depth, "erf", 1.3, 0.0)
        near = kernels.nngp_ntk(x, None, depth, "erf", 1.3, 1e-9)
        for a, b in zip(exact, near, strict=True):
            assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# -- names of losses and activations ----------------------------------------------------------


def test_loss_names_are_spelt_as_on_the_command_line():
    from jamming.simulate import kernel_flow
    from jamming.theory import function_space, phi_c

    assert validation.LOSSES == ("square", "hinge", "quadratic-hinge")
    subsets = {"function_space": function_space.LOSSES, "kernel_flow": kernel_flow.LOSSES,
               "phi_c": phi_c.PHI_C_LOSSES}
    torch = pytest.importorskip("torch")
    from jamming.simulate import networks

    subsets["networks"] = networks.LOSSES
    assert {name: set(losses) - set(validation.LOSSES) for name, losses in subsets.items()} \
        == dict.fromkeys(subsets, set())
    value = networks.losses(torch.tensor([0.5]), torch.tensor([1.0]), "quadratic-hinge")
    assert value.item() == 0.125
    with pytest.raises(ValueError, match="loss must be one of square, hinge, quadratic-hinge; "
                                         "got 'quadratic_hinge'"):
        networks.losses(torch.tensor([0.5]), torch.tensor([1.0]), "quadratic_hinge")
    with pytest.raises(ValueError, match="loss must be one of square, quadratic-hinge"):
        function_space.loss_value(np.zeros(2), np.ones(2), "hinge")


def test_activation_names_are_the_theory_registry_names_with_the_same_functions():
    from jamming.simulate.activations import ACTIVATIONS, check_activation, numpy_activation

    z = np.linspace(-3.0, 3.0, 25)
    for name in ACTIVATIONS:
        assert name in activations.REGISTRY, name
        phi, _ = activations.resolve_activation(name).functions()
        assert_allclose(numpy_activation(name)(z), phi(z), rtol=1e-13, atol=1e-15,
                        err_msg=name)
    with pytest.raises(ValueError, match="activation must be one of relu, .*; got 'linear'"):
        check_activation("linear")
    with pytest.raises(ValueError, match="activation must be one of"):
        activations.resolve_activation("leaky-relu")


# -- scalars and arrays -----------------------------------------------------------------------

#: Functions of scalar parameters that take arrays of them, with one array argument.
ELEMENTWISE = [
    (capacity.cover_probability, {"n_data": [10, 20, 31], "n_eff": 10}),
    (capacity.log_cover_probability, {"n_data": 40, "n_eff": [5, 10]}),
    (capacity.gardner_capacity, {"kappa": [0.0, 0.5, 1.0]}),
    (capacity.unsat_load, {"s": [0.1, 1.0]}),
    (capacity.quadratic_hinge_unsat, {"alpha": [2.5, 3.0]}),
    (capacity.quadratic_hinge_unsat_expansion, {"alpha": [2.01, 2.1]}),
    (random_matrix.marchenko_pastur_edges, {"phi": [0.5, 2.0]}),
    (random_matrix.smallest_nonzero_eigenvalue, {"phi": [0.5, 2.0]}),
    (random_matrix.marchenko_pastur_atom, {"phi": [0.5, 2.0]}),
    (random_matrix.pennington_worah_atom,
     {"dim_per_sample": [0.5, 2.0], "dim_per_feature": 0.8, "eta": 1.0, "zeta": 0.4}),
    (teacher.random_features_sign_teacher_phi_c, {"psi": [0.5, 2.0]}),
    (teacher.random_features_explained_variance, {"psi": [0.5, 2.0]}),
    (teacher.marchenko_pastur_explained_variance, {"psi": [0.5, 2.0], "kappa": 0.3}),
    (teacher.candes_sur_threshold, {"gamma": [0.0, 1.0]}),
    (teacher.candes_sur_phi_c, {"gamma": [0.0, 1.0]}),
    (teacher.gaussian_features_sign_teacher_phi_c, {"r_squared": [0.2, 0.5]}),
    (teacher.effective_signal_strength, {"r_squared": [0.2, 1.0]}),
    (teacher.teacher_objective, {"t": [0.0, 0.5], "gamma": 1.0}),
    (stabilization.two_cycle, {"gamma": [1.1, 1.2]}),
    (stabilization.two_cycle_multiplier, {"gamma": [1.1, 1.2]}),
    (stabilization.map_maximum, {"gamma": [0.8, 1.2]}),
    (stabilization.critical_gamma, {"a": [0.5, 0.65]}),
    (stabilization.epsilon0, {"gamma_min": [1.01, 1.2]}),
    (stabilization.loss_bounds, {"eps": [0.01, 0.02]}),
    (sde.label_noise_stationary_second_moment, {"theta_star": [1.0, 2.0], "eta": 0.1,
                                                "delta": 0.1}),
    (sde.label_noise_log_normaliser, {"theta_star": [1.0, 2.0], "eta": 0.1, "delta": 0.1}),
    (mercer.relu_ntk_kernel, {"t": [0.1, 0.5]}),
    (mercer.power_kernel_eigenvalue, {"nu": 0.5, "d": 3, "k": [0, 1, 2]}),
    (parameters.stable_neuron_probability, {"input_dim": 3, "b_std": [0.5, 1.0]}),
    (parameters.expected_shallow_relu_rank, {"input_dim": 3, "width": [4, 8]}),
]


def _as_arrays(result):
    """A result as a tuple of float arrays (a tuple's items, a dataclass's fields)."""
    if is_dataclass(result):
        result = tuple(getattr(result, field.name) for field in fields(result))
    if not isinstance(result, tuple):
        result = (result,)
    return tuple(np.asarray(item, dtype=np.float64) for item in result)


@pytest.mark.parametrize(("function", "arguments"), ELEMENTWISE,
                         ids=[f"{f.__module__.rsplit('.', 1)[1]}.{f.__name__}"
                              for f, _ in ELEMENTWISE])
def test_scalar_functions_take_arrays_element_by_element(function, arguments):
    name = next(key for key, value in arguments.items() if isinstance(value, list))
    result = _as_arrays(function(**{**arguments, name: np.array(arguments[name])}))
    one_by_one = [_as_arrays(function(**{**arguments, name: value}))
                  for value in arguments[name]]
    for position, column in enumerate(result):
        assert column.shape == (len(arguments[name]),)
        assert_allclose(column, [values[position] for values in one_by_one], rtol=0, atol=0)


def test_arrays_broadcast_together():
    n_data, n_eff = np.array([[10], [20], [40]]), np.array([5, 10])
    result = capacity.cover_probability(n_data, n_eff)
    assert result.shape == (3, 2)
    assert result[2, 1] == capacity.cover_probability(40, 10)
    assert isinstance(capacity.cover_probability(40, 10), float)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: teacher.random_features_sign_teacher_threshold(np.array([0.5, 1.0])), "psi"),
    (lambda: random_matrix.pennington_worah_edges(np.array([0.5, 1.0]), 0.8, 1.0, 0.4),
     "dim_per_sample"),
    (lambda: random_matrix.marchenko_pastur_density([0.5, 1.0], np.array([0.5, 2.0])), "phi"),
    (lambda: activations.gaussian_moments("relu", np.array([1.0, 2.0])), "variance"),
    (lambda: mercer.multiplicity(np.array([3, 4]), 2), "d"),
])
def test_scalar_only_parameters_name_themselves_when_given_an_array(call, name):
    with pytest.raises(TypeError, match=f"^{name} must be a scalar; got an array of shape"):
        call()


# -- non-finite inputs ------------------------------------------------------------------------

X = np.random.default_rng(2).standard_normal((3, 3))
X_NAN = np.where(np.eye(3, dtype=bool), np.nan, X)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: kernels.nngp(X_NAN), "x1"),
    (lambda: kernels.ntk(X, np.full((2, 3), np.inf)), "x2"),
    (lambda: kernels.nngp_ntk(X_NAN, depth=2, activation="tanh"), "x1"),
    (lambda: kernels.dual_activation(np.nan, 1.0, 0.5), "q1"),
    (lambda: kernels.dual_activation(1.0, 1.0, [0.5, np.inf]), "c"),
    (lambda: bottleneck.bottleneck_kernels(X_NAN), "x1"),
    (lambda: bottleneck.bottleneck_kernels(X, w=[np.nan, 1.0, 0.0]), "w"),
    (lambda: bottleneck.bottleneck_kernels(X, u_std=np.nan), "u_std"),
])
def test_theory_kernels_refuse_non_finite_inputs(call, name):
    with pytest.raises(ValueError, match=f"^{name} must be finite"):
        call()


def test_torch_backend_and_simulated_kernels_refuse_non_finite_inputs():
    torch = pytest.importorskip("torch")
    from jamming.simulate.kernel_estimates import monte_carlo_kernels
    from jamming.simulate.networks import DenseNetwork

    with pytest.raises(ValueError, match="^x1 must be finite"):
        kernels.nngp(torch.as_tensor(X_NAN), backend="torch")
    with pytest.raises(ValueError, match="inputs must be finite"):
        monte_carlo_kernels(DenseNetwork(3, 4), X_NAN, 2, 0)
