"""The e-mail's pipeline: a teacher task, a hinge-trained network and its hidden features."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate.trained_features import (
    draw_teacher,
    hidden_feature_snapshots,
    teacher_labels,
    teacher_task,
)


def test_teacher_labels_are_the_sign_of_the_teacher_network():
    inputs = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    weights, signs = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, -2.0])
    # fields: relu(x1/sqrt2) - 2 relu(x2/sqrt2) = 0.707, -1.414, 0 (-> +1)
    assert teacher_labels(inputs, weights, signs).tolist() == [1.0, -1.0, 1.0]
    with pytest.raises(ValueError, match="weights must have shape"):
        teacher_labels(inputs, weights[:, :1], signs)


def test_teacher_task_draws_both_labels_on_the_sphere():
    task = teacher_task(10, 300, 50, np.random.default_rng(4))
    np.testing.assert_allclose(np.linalg.norm(task["train_inputs"], axis=1), np.sqrt(10))
    assert 0.2 < np.mean(task["train_labels"] > 0) < 0.8
    assert task["test_labels"].shape == (50,)
    weights, signs = draw_teacher(10, np.random.default_rng(0))
    assert weights.shape == (4, 10) and signs.tolist() == [1.0, -1.0, 1.0, -1.0]


def test_snapshots_are_the_hidden_relu_activations_along_training():
    task = teacher_task(6, 120, 30, np.random.default_rng(1))
    snaps = hidden_feature_snapshots(task["train_inputs"], task["train_labels"],
                                     task["test_inputs"], 8, [0, 50, 500], seed=3,
                                     learning_rate=1e-2)
    assert snaps["steps"].tolist() == [0, 50, 500]
    assert snaps["train_features"].shape == (3, 120, 8)
    assert snaps["test_features"].shape == (3, 30, 8)
    assert np.all(snaps["train_features"] >= 0)  # ReLU activations
    assert snaps["train_loss"][-1] < snaps["train_loss"][0]  # the hinge loss decreases
    assert not np.allclose(snaps["train_features"][0], snaps["train_features"][-1])
    again = hidden_feature_snapshots(task["train_inputs"], task["train_labels"],
                                     task["test_inputs"], 8, [0], seed=3)
    np.testing.assert_array_equal(again["train_features"][0], snaps["train_features"][0])
