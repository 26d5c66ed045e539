"""MTAdam against Algorithm 1 of Malkiel & Wolf, written as the paper's per-layer loop."""

from __future__ import annotations

import math

import torch
from torch import nn

from paretosweep.methods import MTAdam, anchor_scales
from tests.unit.methods.method_inputs import WORKED_J


class ReferenceMTAdam:
    """The paper's loop over layers and loss terms (anchor = term 0), on explicit tensors."""

    def __init__(self, shapes: list[torch.Size], m: int, b1: float = 0.9, b2: float = 0.999, b3: float = 0.9):
        self.b1, self.b2, self.b3, self.t = b1, b2, b3, 0
        self.norms = [[0.0] * m for _ in shapes]
        self.m1 = [[torch.zeros(s, dtype=torch.float64) for _ in range(m)] for s in shapes]
        self.v = [[torch.zeros(s, dtype=torch.float64) for _ in range(m)] for s in shapes]

    def direction(self, grads: list[list[torch.Tensor]]) -> list[torch.Tensor]:
        """``grads[k][i]``: gradient of loss i for layer k; returns u_k for each layer."""
        self.t += 1
        out = []
        for k, layer in enumerate(grads):
            for i, g in enumerate(layer):
                n = float(g.norm())
                self.norms[k][i] = n if self.t == 1 else self.b3 * self.norms[k][i] + (1 - self.b3) * n
            anchor = next((self.norms[k][i] for i in range(len(layer)) if self.norms[k][i] > 1e-10), 1.0)
            denoms, steps = [], []
            for i, g in enumerate(layer):
                if self.norms[k][i] > 1e-10:
                    g = anchor * g / self.norms[k][i]
                self.m1[k][i] = self.b1 * self.m1[k][i] + (1 - self.b1) * g
                self.v[k][i] = self.b2 * self.v[k][i] + (1 - self.b2) * g * g
                denoms.append((self.v[k][i] / (1 - self.b2**self.t)).sqrt() + 1e-8)
                steps.append(self.m1[k][i] / (1 - self.b1**self.t))
            max_denom = torch.stack(denoms).max(dim=0).values
            out.append(sum(s / max_denom for s in steps))
        return out


def test_first_step_worked_example() -> None:
    # t = 1: m_hat = g_hat, sqrt(v_hat) = |g_hat|; g_hat_2 = (sqrt2 / sqrt5) g_2.
    theta = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    w = MTAdam(n_tasks=2).backward(WORKED_J @ theta, [theta])
    c = math.sqrt(2 / 5)
    torch.testing.assert_close(theta.grad, torch.tensor([1 - c, 1.0, 1.0], dtype=torch.float64), atol=1e-7, rtol=0)
    torch.testing.assert_close(w, torch.tensor([1.0, c], dtype=torch.float64))


def test_matches_the_papers_loop_over_steps_and_layers() -> None:
    gen = torch.Generator().manual_seed(0)
    a = nn.Parameter(torch.zeros(2, 3, dtype=torch.float64))
    b = nn.Parameter(torch.zeros(4, dtype=torch.float64))
    head = nn.Parameter(torch.zeros(2, dtype=torch.float64))  # reached by loss 2 only
    method, reference = MTAdam(n_tasks=3), ReferenceMTAdam([a.shape, b.shape, head.shape], 3)
    for _ in range(4):
        coeffs = [torch.randn(p.numel() * 3, generator=gen, dtype=torch.float64).view(3, *p.shape) for p in (a, b)]
        head_coeff = torch.randn(2, generator=gen, dtype=torch.float64)
        losses = torch.stack([(coeffs[0][i] * a).sum() + (coeffs[1][i] * b).sum() for i in range(3)])
        losses = losses + torch.stack([torch.zeros((), dtype=torch.float64)] * 2 + [(head_coeff * head).sum()])
        for p in (a, b, head):
            p.grad = None
        method.backward(losses, [a, b], task_specific=[head])
        zeros = torch.zeros(2, dtype=torch.float64)
        expected = reference.direction([[coeffs[0][i] for i in range(3)], [coeffs[1][i] for i in range(3)], [zeros, zeros, head_coeff]])
        for p, u in zip((a, b, head), expected):
            torch.testing.assert_close(p.grad, u)


def test_anchor_falls_back_to_first_live_task() -> None:
    scales = anchor_scales(torch.tensor([[0.0, 2.0], [3.0, 4.0], [6.0, 0.0]]), anchor=0)
    torch.testing.assert_close(scales, torch.tensor([[1.0, 1.0], [1.0, 0.5], [0.5, 1.0]]))


def test_declares_that_it_replaces_the_optimizer() -> None:
    assert MTAdam.replaces_optimizer and MTAdam.needs_shared_grads


def test_copies_and_reloaded_state_update_their_own_moments() -> None:
    """The cached views into the stacked moments follow the state: a deep copy and a reloaded
    state each update their own tensors, and agree with an uninterrupted run."""
    import copy

    gen = torch.Generator().manual_seed(1)
    a = nn.Parameter(torch.zeros(2, 3, dtype=torch.float64))
    coeffs = [torch.randn(2, 2, 3, generator=gen, dtype=torch.float64) for _ in range(4)]

    def step(method: MTAdam, k: int) -> torch.Tensor:
        a.grad = None
        method.backward(torch.stack([(coeffs[k][i] * a).sum() for i in range(2)]), [a])
        return a.grad.clone()

    method = MTAdam(n_tasks=2)
    step(method, 0)
    twin = copy.deepcopy(method)
    reloaded = MTAdam(n_tasks=2)
    reloaded.load_state_dict(method.state_dict())
    expected = [step(method, k) for k in (1, 2, 3)]
    assert [float(x) for x in twin.state["step"].reshape(1)] == [1.0]  # untouched by the original
    for other in (twin, reloaded):
        for k, grad in zip((1, 2, 3), expected):
            torch.testing.assert_close(step(other, k), grad)
