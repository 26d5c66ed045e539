"""TorchJD (0.18) as an independent oracle: each method's update against TorchJD's on random inputs.

`COMPARED` names, for every registered method that TorchJD also implements, the TorchJD classes it
is checked against; `NOT_IN_TORCHJD` the registered methods TorchJD lacks, and `TORCHJD_ONLY`
TorchJD's methods we lack. Three bookkeeping tests keep these lists true: every registered
method is in exactly one of the first two, TorchJD exports exactly what the lists claim (so an
upgrade that adds or drops a method fails here), and every entry of `COMPARED` has a comparison
below (``@compares``). Gradient methods run on `LinearProblem` (losses
``L_i = J_i . theta + h_i^2``, so ``theta.grad`` is exactly the shared update :math:`J^\\top w`),
loss-only methods on losses that are a parameter; updates agree within 1e-5 times the input's
scale unless a method's docstring names a difference, which the test then checks instead:

* upgrad, dualproj, alignedmtl, imtlg, equal: the same definition (with every option mapped onto
  TorchJD's), equal.
* pcgrad, rlw: both draw from torch's default generator in the same order; equal under one seed.
* famo, stch, dwa, uncertainty: TorchJD's scalarizers fed the same loss sequence; equal gradients.
* unitary: TorchJD's ``Mean`` scalarization plus the weight-decay term :math:`\\lambda\\theta`.
* nashmtl: equal wherever TorchJD's solver (the authors' CCP with ECOS) finds the bargaining
  solution (`NASH_SOLVED`); where it does not (it then returns its initial weights, or a partial solution), ours
  solves the system or, when no solution exists, keeps its previous weights.
* cagrad: ours with ``rescale: 0`` is TorchJD's definition; TorchJD solves the inner problem with
  CLARABEL (weights accurate to about 1e-4), ours exactly: our inner objective is never higher, the
  updates agree to 1e-3; where TorchJD zeroes the step (``norm_eps``), our inner optimum is near 0.
* mgda: TorchJD runs the paper's Frank-Wolfe iterations, ours solves exactly; equal with two tasks
  (Frank-Wolfe's line search is exact there), and with more tasks ours is the min-norm point.

TorchJD's solvers are its optional dependencies (``torchjd[full]``: quadprog and qpsolvers for the
``QuadprogProjector`` of UPGrad and DualProj, cvxpy with ECOS for NashMTL and with Clarabel for
CAGrad); without them collecting this module fails with TorchJD's install hint.

Heads: `test_heads_get_weighted_gradients_where_torchjd_gives_their_own` checks the one difference
every Gramian method's docstring states: through ``mtl_backward`` each head gets the gradient of its
own loss, here that of :math:`\\sum_i w_i L_i`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torchjd import aggregation, autojac, scalarization
from torchjd.linalg import QuadprogProjector

from paretosweep import methods
from paretosweep.methods._linalg import normalized_gramian
from paretosweep.methods._nashmtl import nash_weights
from tests.unit.methods.method_inputs import LinearProblem, SharedBottom, regression_data

#: Our registry name -> the TorchJD classes it is compared with.
COMPARED: dict[str, tuple[str, ...]] = {
    "alignedmtl": ("aggregation.AlignedMTL",),
    "cagrad": ("aggregation.CAGrad",),
    "dualproj": ("aggregation.DualProj",),
    "dwa": ("scalarization.DWA",),
    "equal": ("aggregation.Mean", "scalarization.Mean"),
    "famo": ("scalarization.FAMO",),
    "imtlg": ("aggregation.IMTLG",),
    "mgda": ("aggregation.MGDA",),
    "nashmtl": ("aggregation.NashMTL",),
    "pcgrad": ("aggregation.PCGrad",),
    "rlw": ("aggregation.Random", "scalarization.Random"),
    "stch": ("scalarization.STCH",),
    "uncertainty": ("scalarization.UW",),
    "unitary": ("scalarization.Mean",),
    "upgrad": ("aggregation.UPGrad",),
}
#: Registered methods that TorchJD 0.18 does not implement.
NOT_IN_TORCHJD = ("gradnorm", "gradsim", "metabalance", "mtadam")
#: TorchJD 0.18 methods with no registered counterpart here.
TORCHJD_ONLY = (
    "aggregation.CRMOGMWeighting",
    "aggregation.ConFIG",
    "aggregation.Constant",
    "aggregation.ExcessMTL",
    "aggregation.FairGrad",
    "aggregation.GradDrop",
    "aggregation.GradVac",
    "aggregation.Krum",
    "aggregation.MoDoWeighting",
    "aggregation.PCD",
    "aggregation.SDMGradWeighting",
    "aggregation.Sum",
    "aggregation.TrimmedMean",
    "scalarization.COSMOS",
    "scalarization.Constant",
    "scalarization.GeometricMean",
    "scalarization.IMTLL",
    "scalarization.PBI",
    "scalarization.Sum",
)
#: TorchJD's base classes, not methods.
BASES = ("Aggregator", "GramianWeightedAggregator", "WeightedAggregator", "Weighting", "Scalarizer")

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOLVER_EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_COMPARISONS: dict[str, list[str]] = {}
F = TypeVar("F", bound=Callable[..., Any])


def compares(*names: str) -> Callable[[F], F]:
    """Record that the decorated test compares the methods ``names`` with TorchJD."""

    def record(test: F) -> F:
        for name in names:
            _COMPARISONS.setdefault(name, []).append(test.__name__)
        return test

    return record


def torchjd_methods() -> set[str]:
    """TorchJD's exported methods: ``Weighting`` companions of an exported aggregator and bases left out."""
    found = set()
    for module_name, module in (("aggregation", aggregation), ("scalarization", scalarization)):
        exported = set(module.__all__)
        for name in exported - set(BASES):
            if name.endswith("Weighting") and name.removesuffix("Weighting") in exported:
                continue
            found.add(f"{module_name}.{name}")
    return found


def test_every_registered_method_is_compared_or_listed_as_absent() -> None:
    registered = set(methods.available_methods())
    assert set(COMPARED) | set(NOT_IN_TORCHJD) == registered
    assert not set(COMPARED) & set(NOT_IN_TORCHJD)


def test_torchjd_exports_what_we_claim_and_nothing_unaccounted_for() -> None:
    claimed = {cls for classes in COMPARED.values() for cls in classes}
    assert not claimed & set(TORCHJD_ONLY)
    assert torchjd_methods() == claimed | set(TORCHJD_ONLY)


def test_every_compared_method_has_a_comparison() -> None:
    assert set(_COMPARISONS) == set(COMPARED)


@st.composite
def jacobians(draw: st.DrawFn, min_tasks: int = 2, max_tasks: int = 5, max_params: int = 20) -> Tensor:
    """Float64 ``[m, n]`` Jacobians: random, with conflicting rows, or nearly rank-deficient."""
    m = draw(st.integers(min_tasks, max_tasks))
    n = draw(st.integers(1, max_params))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    jac = torch.randn(m, n, generator=gen, dtype=torch.float64)
    kind = draw(st.sampled_from(["random", "conflicting", "near_rank_deficient"]))
    if kind == "conflicting":  # task 1 points against task 0, with a little of its own
        jac[1] = -draw(st.floats(0.2, 5.0)) * jac[0] + 0.1 * jac[1]
    elif kind == "near_rank_deficient":  # the last row a combination of the others, plus 1e-3 noise
        mix = torch.randn(m - 1, generator=gen, dtype=torch.float64)
        jac[-1] = mix @ jac[:-1] + 1e-3 * jac[-1]
    return jac * draw(st.sampled_from([1e-2, 1.0, 1e2]))


@st.composite
def loss_sequences(draw: st.DrawFn, max_tasks: int = 4, max_steps: int = 6) -> Tensor:
    """Float32 ``[steps, m]`` positive task losses, one row per training step."""
    m = draw(st.integers(2, max_tasks))
    steps = draw(st.integers(2, max_steps))
    rows = draw(st.lists(st.lists(st.floats(0.05, 5.0), min_size=m, max_size=m), min_size=steps, max_size=steps))
    return torch.tensor(rows, dtype=torch.float32)


def scale_of(values: Tensor) -> float:
    """The largest entry of the input, at least 1: tolerances are relative to it."""
    return max(1.0, float(values.abs().max()))


def our_step(name: str, jac: Tensor, **options: object) -> tuple[Tensor, Tensor]:
    """``(theta.grad, returned weights)`` of one ``backward`` of a fresh registered method."""
    problem = LinearProblem(jac)
    method = methods.create(name, n_tasks=jac.shape[0], **options)
    weights = method.backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    assert problem.theta.grad is not None
    return problem.theta.grad, weights


def our_update(name: str, jac: Tensor, **options: object) -> Tensor:
    return our_step(name, jac, **options)[0]


def assert_same_update(ours: Tensor, theirs: Tensor, scale: float, tol: float = 1e-5) -> None:
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=tol * scale, rtol=0)


def gradient_of(scalar: Callable[[Tensor], Tensor], values: Tensor) -> Tensor:
    """Gradient w.r.t. ``values`` of TorchJD's scalarization of them."""
    leaf = values.clone().requires_grad_(True)
    scalar(leaf * 1.0).backward()
    assert leaf.grad is not None
    return leaf.grad


def our_gradient(method: methods.Method, values: Tensor) -> Tensor:
    """Gradient w.r.t. ``values`` that a loss-only method writes for the losses ``values``."""
    leaf = nn.Parameter(values.clone())
    method.backward(leaf * 1.0, [leaf])
    assert leaf.grad is not None
    return leaf.grad


# --- the same definition ------------------------------------------------------------------------


@compares("upgrad", "dualproj", "alignedmtl", "imtlg", "equal")
@pytest.mark.parametrize(
    ("name", "aggregator"),
    [
        ("upgrad", aggregation.UPGrad),
        ("dualproj", aggregation.DualProj),
        ("alignedmtl", aggregation.AlignedMTL),
        ("imtlg", aggregation.IMTLG),
        ("equal", aggregation.Mean),
    ],
)
@given(jac=jacobians())
@EXAMPLES
def test_same_definition_same_update(name: str, aggregator: type[aggregation.Aggregator], jac: Tensor) -> None:
    assert_same_update(our_update(name, jac), aggregator()(jac), scale_of(jac))


@compares("upgrad", "dualproj", "alignedmtl")
@given(jac=jacobians(), data=st.data())
@EXAMPLES
def test_options_map_onto_torchjd(jac: Tensor, data: st.DataObject) -> None:
    """Our ``preference``, ``norm_eps``, ``reg_eps``, ``scale_mode`` are TorchJD's options.

    TorchJD's names: ``pref_vector``, the ``QuadprogProjector``'s ``norm_eps`` and ``reg_eps``, ``scale_mode``.
    """
    m, scale = jac.shape[0], scale_of(jac)
    pref = data.draw(st.lists(st.floats(0.05, 3.0), min_size=m, max_size=m))
    reg = data.draw(st.sampled_from([1e-6, 1e-4, 1e-2]))  # quadprog needs a positive definite G
    norm_eps = data.draw(st.sampled_from([0.0, 1e-4, 1e-2]))
    mode = data.draw(st.sampled_from(["min", "median", "rmse"]))
    p = torch.tensor(pref, dtype=torch.float64)
    projector = QuadprogProjector(norm_eps=norm_eps, reg_eps=reg)
    options = {"preference": pref, "norm_eps": norm_eps, "reg_eps": reg}
    theirs = aggregation.UPGrad(pref_vector=p, projector=projector)(jac)
    assert_same_update(our_update("upgrad", jac, **options), theirs, scale)
    theirs = aggregation.DualProj(pref_vector=p, projector=projector)(jac)
    assert_same_update(our_update("dualproj", jac, **options), theirs, scale)
    theirs = aggregation.AlignedMTL(pref_vector=p, scale_mode=mode)(jac)
    assert_same_update(our_update("alignedmtl", jac, preference=pref, scale_mode=mode), theirs, scale)


@compares("equal")
@given(values=loss_sequences(max_steps=2))
@EXAMPLES
def test_equal_is_torchjds_mean_scalarization(values: Tensor) -> None:
    theirs = gradient_of(scalarization.Mean(), values[0])
    assert_same_update(our_gradient(methods.create("equal", n_tasks=values.shape[1]), values[0]), theirs, 1.0)


@compares("uncertainty")
@given(values=loss_sequences(max_steps=2), data=st.data())
@EXAMPLES
def test_uncertainty_is_torchjds_uw(values: Tensor, data: st.DataObject) -> None:
    """Same objective at any log-variances: same gradients w.r.t. the losses and the log-variances."""
    m = values.shape[1]
    log_vars = torch.tensor(data.draw(st.lists(st.floats(-2.0, 2.0), min_size=m, max_size=m)))
    ours, theirs = methods.UncertaintyWeighting(n_tasks=m), scalarization.UW(m)
    with torch.no_grad():
        ours.log_vars.copy_(log_vars)
        theirs.log_var.copy_(log_vars)
    assert_same_update(our_gradient(ours, values[0]), gradient_of(theirs, values[0]), 1.0)
    assert ours.log_vars.grad is not None and theirs.log_var.grad is not None
    assert_same_update(ours.log_vars.grad, theirs.log_var.grad, 1.0)


@compares("unitary")
@given(values=loss_sequences(max_steps=2), weight_decay=st.sampled_from([0.0, 1e-4, 0.3]))
@EXAMPLES
def test_unitary_is_torchjds_mean_plus_weight_decay(values: Tensor, weight_decay: float) -> None:
    """The losses here are the parameters themselves, so their gradient is ``Mean``'s plus ``weight_decay * losses``."""
    ours = our_gradient(methods.create("unitary", n_tasks=values.shape[1], weight_decay=weight_decay), values[0])
    assert_same_update(ours, gradient_of(scalarization.Mean(), values[0]) + weight_decay * values[0], 1.0)


# --- the same random draws ----------------------------------------------------------------------


@compares("pcgrad")
@given(jac=jacobians(), seed=st.integers(0, 2**31 - 1))
@EXAMPLES
def test_pcgrad_equals_torchjd_under_the_same_seed(jac: Tensor, seed: int) -> None:
    torch.manual_seed(seed)
    ours = our_update("pcgrad", jac)
    torch.manual_seed(seed)
    assert_same_update(ours, aggregation.PCGrad()(jac), scale_of(jac))


@compares("rlw")
@given(jac=jacobians(), seed=st.integers(0, 2**31 - 1))
@EXAMPLES
def test_rlw_equals_torchjd_random_under_the_same_seed(jac: Tensor, seed: int) -> None:
    """Both draw ``softmax(randn(m))``; ours in float32, TorchJD in the input's dtype, so float32 inputs."""
    jac = jac.float()
    torch.manual_seed(seed)
    ours = our_update("rlw", jac)
    torch.manual_seed(seed)
    theirs = aggregation.Random()(jac)
    torch.testing.assert_close(ours, theirs, atol=1e-5 * scale_of(jac), rtol=1e-5)
    torch.manual_seed(seed)
    ours = our_gradient(methods.create("rlw", n_tasks=jac.shape[0]), jac[:, 0].abs())
    torch.manual_seed(seed)
    assert_same_update(ours, gradient_of(scalarization.Random(), jac[:, 0].abs()), 1.0)


# --- stateful loss weightings, fed the same loss sequence ---------------------------------------


@compares("famo")
@given(values=loss_sequences(), w_lr=st.sampled_from([0.025, 0.3]), gamma=st.sampled_from([0.0, 1e-3, 0.1]))
@EXAMPLES
def test_famo_equals_torchjd_on_the_same_loss_sequence(values: Tensor, w_lr: float, gamma: float) -> None:
    """TorchJD's ``update(L_{t+1})`` before ``L_{t+1}``'s step is our logit step at its start (no clipping there)."""
    ours = methods.create("famo", n_tasks=values.shape[1], w_lr=w_lr, gamma=gamma, max_norm=0.0)
    theirs = scalarization.FAMO(values.shape[1], lr=w_lr, weight_decay=gamma)
    for t, losses in enumerate(values):
        if t > 0:
            theirs.update(losses)
        assert_same_update(our_gradient(ours, losses), gradient_of(theirs, losses), 1.0)


@compares("stch")
@given(values=loss_sequences(), mu=st.sampled_from([0.01, 0.1, 1.0]), data=st.data())
@EXAMPLES
def test_stch_equals_torchjd_at_the_running_ideal_point(values: Tensor, mu: float, data: st.DataObject) -> None:
    m = values.shape[1]
    pref = data.draw(st.lists(st.floats(0.05, 3.0), min_size=m, max_size=m))
    margin = data.draw(st.sampled_from([0.0, 1e-3, 0.5]))
    ours = methods.create("stch", n_tasks=m, preference=pref, mu=mu, ideal_margin=margin)
    values = values.double()  # mu = 0.01 divides float32 rounding errors by 0.01
    seen = torch.full((m,), float("inf"), dtype=torch.float64)
    for losses in values:
        seen = torch.minimum(seen, losses)
        theirs = scalarization.STCH(mu, weights=torch.tensor(pref, dtype=torch.float64), reference=seen - margin)
        assert_same_update(our_gradient(ours, losses), gradient_of(theirs, losses), 1.0)


@compares("dwa")
@given(values=loss_sequences(max_steps=12), per_epoch=st.integers(1, 3), temperature=st.sampled_from([0.5, 2.0]))
@EXAMPLES
def test_dwa_equals_torchjd_with_the_same_epoch_means(values: Tensor, per_epoch: int, temperature: float) -> None:
    """TorchJD averages the losses it was called with over an epoch; the trainer gives ours those means."""
    ours = methods.create("dwa", n_tasks=values.shape[1], temperature=temperature)
    theirs = scalarization.DWA(temperature)
    for epoch, batches in enumerate(torch.split(values, per_epoch)):
        for losses in batches:
            assert_same_update(our_gradient(ours, losses), gradient_of(theirs, losses), 1.0)
        ours.on_epoch_end(epoch, batches.mean(dim=0))
        theirs.step()


# --- the same problem, solved differently -------------------------------------------------------


#: TorchJD's weights solve the bargaining system when their residual is below this. Where its CCP
#: converges the residual is about 1e-8; its own stopping rule (:math:`\lVert G\alpha - 1/\alpha \rVert < 10^{-3}`)
#: also accepts partial solutions, which the 1e-5 comparison of the updates cannot use.
NASH_SOLVED = 1e-6


def bargaining_residual(alpha: Tensor, gramian: Tensor) -> float:
    r""":math:`\max_i |\alpha_i (G\alpha)_i - 1|`, zero at the Nash-MTL solution."""
    return float((alpha * (gramian @ alpha) - 1.0).abs().max())


@compares("nashmtl")
@given(jac=jacobians(), max_norm=st.sampled_from([0.0, 1.0]))
@SOLVER_EXAMPLES
def test_nashmtl_equals_torchjd_where_its_solver_finds_the_solution(jac: Tensor, max_norm: float) -> None:
    m, gramian = jac.shape[0], jac @ jac.T
    nash = aggregation.NashMTL(n_tasks=m, max_norm=max_norm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cvxpy's solver notes
        theirs = nash(jac)
    theirs_alpha = torch.as_tensor(nash.weighting.prvs_alpha, dtype=jac.dtype)  # before clipping
    ours, ours_alpha = our_step("nashmtl", jac, max_norm=max_norm)
    if bargaining_residual(theirs_alpha, gramian) <= NASH_SOLVED:
        assert_same_update(ours, theirs, scale_of(jac))
    elif nash_weights(gramian, init=torch.ones(m)) is None:  # the fresh method's solve (warm start: its ones) failed
        torch.testing.assert_close(ours_alpha, torch.ones(m, dtype=jac.dtype))  # so it keeps its initial weights
    else:  # TorchJD's solver failed where ours solved the system (to 1e-8, or to rounding where alpha is huge)
        rounding = 64 * torch.finfo(jac.dtype).eps * float((ours_alpha.abs() * (gramian.abs() @ ours_alpha.abs())).max())
        assert bargaining_residual(ours_alpha, gramian) <= 1e-8 + rounding


def test_nashmtl_comparison_is_not_vacuous() -> None:
    """On independent gradients TorchJD's solver usually succeeds, so the equality branch above runs."""
    gen = torch.Generator().manual_seed(0)
    solved = 0
    for _ in range(20):
        jac = torch.randn(3, 10, generator=gen, dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alpha = aggregation.NashMTL(n_tasks=3, max_norm=0.0).weighting(jac)
        if bargaining_residual(alpha, jac @ jac.T) <= NASH_SOLVED:
            solved += 1
            assert_same_update(our_update("nashmtl", jac, max_norm=0.0), alpha @ jac, scale_of(jac))
    assert solved >= 15


@compares("cagrad")
@given(jac=jacobians(), c=st.sampled_from([0.1, 0.4, 0.8]))
@SOLVER_EXAMPLES
def test_cagrad_matches_torchjd_to_its_solver_tolerance(jac: Tensor, c: float) -> None:
    gramian, m = jac @ jac.T, jac.shape[0]
    g = torch.as_tensor(normalized_gramian(gramian)[0]) / m  # TorchJD's trace-normalised Gramian
    b = torch.full((m,), 1.0 / m, dtype=torch.float64)
    sqrt_phi = c * float(torch.sqrt(b @ g @ b))
    ours_w = methods.cagrad_weights(gramian, c, 0)
    theirs_w = aggregation.CAGradWeighting(c=c)(gramian)
    ours = our_update("cagrad", jac, c=c, rescale=0)

    def inner(weights: Tensor) -> tuple[float, float]:
        """The inner objective and :math:`\\lVert g_w \\rVert` at :math:`w = (weights - b) / \\lambda`."""
        w = (weights - b) / (float(weights.sum()) - 1.0)
        gw = float(torch.sqrt(torch.clamp(w @ g @ w, min=0.0)))
        return float(w @ g @ b) + sqrt_phi * gw, gw

    if not bool(theirs_w.any()):  # TorchJD's norm_eps: a zero step where |g_w| < 1e-4 (or tr G < 1e-4)
        assert float(gramian.trace()) < 1e-4 or inner(ours_w)[1] < 1e-3
    elif sqrt_phi <= 1e-12:  # the mean gradient is zero: both step along it
        assert_same_update(ours, theirs_w @ jac, scale_of(jac))
    else:
        assert inner(ours_w)[0] <= inner(theirs_w)[0] + 1e-7
        assert_same_update(ours, theirs_w @ jac, scale_of(jac), tol=1e-3)


@compares("mgda")
@given(jac=jacobians(min_tasks=2, max_tasks=2))
@EXAMPLES
def test_mgda_equals_torchjd_with_two_tasks(jac: Tensor) -> None:
    theirs = aggregation.MGDA(epsilon=1e-12, max_iters=1000)(jac)
    assert_same_update(our_update("mgda", jac), theirs, scale_of(jac))


@compares("mgda")
@given(jac=jacobians(min_tasks=3))
@EXAMPLES
def test_mgda_is_the_min_norm_point_torchjd_approaches(jac: Tensor) -> None:
    """Ours :math:`d^\\star` is the min-norm point.

    That is, :math:`\\lVert d - d^\\star\\rVert^2 \\le \\lVert d\\rVert^2 - \\lVert d^\\star\\rVert^2` for TorchJD's :math:`d`.
    """
    ours = our_update("mgda", jac)
    theirs = aggregation.MGDA(epsilon=1e-9, max_iters=2000)(jac)
    scale = float(jac.abs().max()) ** 2
    gap = float(theirs @ theirs - ours @ ours)
    assert gap >= -1e-9 * scale
    assert float((theirs - ours) @ (theirs - ours)) <= gap + 1e-9 * scale


# --- what the heads receive ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "aggregator"), [("upgrad", aggregation.UPGrad()), ("alignedmtl", aggregation.AlignedMTL())])
def test_heads_get_weighted_gradients_where_torchjd_gives_their_own(name: str, aggregator: aggregation.Aggregator) -> None:
    """Shared parameters: the same update as ``mtl_backward`` + ``jac_to_grad``. Heads: ``w_i`` times TorchJD's."""
    torch.manual_seed(0)
    model = SharedBottom(3).double()
    x, y = (t.double() for t in regression_data(3))
    z = model.trunk(x)
    losses = [((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(model.heads)]
    autojac.mtl_backward(losses, z, tasks_params=[list(h.parameters()) for h in model.heads], shared_params=model.shared())
    theirs_w = autojac.jac_to_grad(model.shared(), aggregator)
    theirs = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad(set_to_none=True)
    ours_w = methods.create(name, n_tasks=3).backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
    torch.testing.assert_close(ours_w, theirs_w, atol=1e-6, rtol=1e-6)
    n_shared = len(model.shared())
    for ours_p, theirs_p in zip([p.grad for p in model.shared()], theirs[:n_shared]):
        torch.testing.assert_close(ours_p, theirs_p, atol=1e-7, rtol=1e-6)
    for i, head in enumerate(model.heads):
        for p, theirs_p in zip(head.parameters(), theirs[n_shared + 2 * i : n_shared + 2 * i + 2]):
            torch.testing.assert_close(p.grad, ours_w[i] * theirs_p, atol=1e-7, rtol=1e-6)
