"""The e-mail's pipeline: labelled tasks, a hinge-trained network and its hidden features."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate.trained_features import (
    draw_teacher,
    hidden_feature_snapshots,
    labelled_task,
    teacher_labels,
)


def test_teacher_labels_are_the_sign_of_the_teacher_network():
    inputs = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    weights, signs = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, -2.0])
    # fields: relu(x1/sqrt2) - 2 relu(x2/sqrt2) = 0.707, -1.414, 0 (-> +1)
    assert teacher_labels(inputs, weights, signs).tolist() == [1.0, -1.0, 1.0]
    with pytest.raises(ValueError, match="weights must have shape"):
        teacher_labels(inputs, weights[:, :1], signs)


@pytest.mark.parametrize("task", ["relu-teacher", "linear-teacher", "digits"])
def test_tasks_draw_disjoint_labelled_sets_on_the_sphere(task):
    sets = labelled_task(task, 10, [300, 200, 50], np.random.default_rng(4))
    assert [len(y) for _, y in sets] == [300, 200, 50]
    for inputs, labels in sets:
        np.testing.assert_allclose(np.linalg.norm(inputs, axis=1), np.sqrt(10))
        assert set(np.unique(labels)) == {-1.0, 1.0}
    assert 0.2 < np.mean(sets[0][1] > 0) < 0.8
    weights, signs = draw_teacher(10, np.random.default_rng(0))
    assert weights.shape == (4, 10) and signs.tolist() == [1.0, -1.0, 1.0, -1.0]
    # disjoint: no input of the first set reappears in the others
    first = {tuple(row) for row in np.round(sets[0][0], 12)}
    assert not first & {tuple(row) for row in np.round(sets[1][0], 12)}


def test_the_linear_teacher_labels_by_a_hyperplane_through_the_origin():
    from jamming.simulate.separability import is_linearly_separable

    (inputs, labels), = labelled_task("linear-teacher", 6, [400], np.random.default_rng(2))
    assert is_linearly_separable(inputs, labels)
    flipped = labels.copy()
    flipped[:10] *= -1  # ten wrong labels make it unseparable
    assert not is_linearly_separable(inputs, flipped)


def test_digits_are_parity_labels_of_a_pca_fitted_on_the_first_set():
    from sklearn.datasets import load_digits

    images, digits = load_digits(return_X_y=True)
    sets = labelled_task("digits", 5, [1000, 797], np.random.default_rng(0))
    assert sum(len(y) for _, y in sets) == len(digits)
    assert np.isclose(np.mean(np.concatenate([y for _, y in sets]) > 0),
                      np.mean(digits % 2 == 0))
    with pytest.raises(ValueError, match="at most 1797"):
        labelled_task("digits", 5, [1000, 1000], np.random.default_rng(0))
    with pytest.raises(ValueError, match="input_dim must be in"):
        labelled_task("digits", 65, [10], np.random.default_rng(0))
    with pytest.raises(ValueError, match="task must be one of"):
        labelled_task("mnist", 5, [10], np.random.default_rng(0))


def test_snapshots_are_the_last_hidden_relu_layer_along_training():
    (train_x, train_y), (other_x, _) = labelled_task("relu-teacher", 6, [120, 30],
                                                     np.random.default_rng(1))
    snaps = hidden_feature_snapshots(train_x, train_y, 8, [0, 50, 500], seed=3,
                                     learning_rate=1e-2, evaluate=[other_x])
    assert snaps["steps"].tolist() == [0, 50, 500]
    assert snaps["train_features"].shape == (3, 120, 8)
    assert snaps["features"][0].shape == (3, 30, 8)
    assert np.all(snaps["train_features"] >= 0)  # ReLU activations
    assert snaps["train_loss"][-1] < snaps["train_loss"][0]  # the hinge loss decreases
    assert not np.allclose(snaps["train_features"][0], snaps["train_features"][-1])
    again = hidden_feature_snapshots(train_x, train_y, 8, [0], seed=3)
    np.testing.assert_array_equal(again["train_features"][0], snaps["train_features"][0])
    assert again["features"] == []


def test_deeper_networks_give_the_last_layer_of_the_same_network():
    import torch

    from jamming.simulate.networks import DenseNetwork, hidden_layers, init_networks

    (train_x, train_y), = labelled_task("relu-teacher", 5, [40], np.random.default_rng(3))
    snaps = hidden_feature_snapshots(train_x, train_y, 7, [0], seed=9, depth=3)
    network = DenseNetwork(5, 7, depth=3)
    expected = hidden_layers(network, init_networks(network, 9, 1), torch.from_numpy(train_x))
    np.testing.assert_allclose(snaps["train_features"][0], expected[-1][0].numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="depth"):
        hidden_feature_snapshots(train_x, train_y, 7, [0], seed=9, depth=0)
    with pytest.raises(ValueError, match="learning_rate"):
        hidden_feature_snapshots(train_x, train_y, 7, [0], seed=9, learning_rate=0.0)


def test_a_network_with_zero_hinge_loss_makes_its_own_training_set_separable():
    """f = a . h / sqrt(N) is linear in the recorded features, so zero hinge loss on the
    training set means the SVM on the network's own points is SAT, however many there are,
    with |w| <= |a| / sqrt(N): why the linear models of the pipeline use fresh points."""
    from jamming.simulate.generalization import hard_margin_weights

    (train_x, train_y), = labelled_task("relu-teacher", 5, [40], np.random.default_rng(4))
    snaps = hidden_feature_snapshots(train_x, train_y, 10, [0, 300], seed=2,
                                     learning_rate=1e-2, depth=2)
    with pytest.raises(ValueError, match="separable"):  # 40 points > 2N: UNSAT at t = 0
        hard_margin_weights(snaps["train_features"][0], train_y)
    assert snaps["train_loss"][-1] == 0.0  # the trained network fits its 40 points
    w = hard_margin_weights(snaps["train_features"][-1], train_y)  # raises if not separable
    assert np.all(train_y * (snaps["train_features"][-1] @ w) >= 1.0 - 1e-9)
