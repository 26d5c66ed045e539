"""The sweep spec: frozen pydantic models, and ``load_config`` (YAML read by :mod:`paretosweep.spec_yaml`).

Everything a sweep needs is validated here or in :mod:`paretosweep.planning` before any trial
starts. Errors name the field by its path (``budget.n_weights``) and say how to fix it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from paretosweep.errors import ConfigError
from paretosweep.spec_options import CallbackSpec, CheckpointsSpec, FrozenSpec, SchedulerSpec, WarmStartSpec
from paretosweep.spec_yaml import read_spec_data

#: Every ``sampler.name`` (``paretosweep.sampling.make_sampler`` builds each one).
SamplerName = Literal[
    "auto", "das_dennis", "energy", "dirichlet", "sobol", "explicit", "adaptive", "optuna_tpe", "optuna_nsga2", "optuna_gp", "conditioned"
]
ScalarizerName = Literal["linear", "tchebycheff", "smooth_tchebycheff"]


_Frozen = FrozenSpec


class ProblemSpec(_Frozen):
    """``problem``: what trains. One of

    * ``name`` (+ ``params``): a built-in problem or a ``module:function`` problem factory (the
      Problem protocol), trained by paretosweep's own loop;
    * ``trainable`` (+ ``config``): the user's own training loop, a ``module:function`` taking a
      :class:`paretosweep.TrialContext` (``config`` reaches it as ``ctx.config``). Its tasks and
      objective columns are declared in the spec's ``tasks:`` block.
    """

    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    trainable: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way_to_train(self) -> ProblemSpec:
        if (self.name is None) == (self.trainable is None):
            raise ValueError(
                "give either `problem.name` (a built-in problem or `module:make_problem`) or `problem.trainable` "
                "(your training function, `module:train`), not both and not neither"
            )
        if self.trainable is not None and self.params:
            raise ValueError("`problem.params` is read by a problem factory (`problem.name`); a trainable reads `problem.config`")
        if self.name is not None and self.config:
            raise ValueError("`problem.config` is read by a trainable (`problem.trainable`); a problem factory reads `problem.params`")
        return self

    @property
    def label(self) -> str:
        """The problem's name or the trainable's import path, for messages and trial ids."""
        return self.name if self.name is not None else f"trainable {self.trainable}"


class TaskObjective(_Frozen):
    """``tasks.<task>``: which held-out metric is the task's objective, and its direction.

    For a function trainable (``problem.trainable``) this block *declares* the tasks: each task's
    objective column ``<task>_<metric>`` and its ``direction`` (required), ``also`` further metrics
    it reports (``{name: min | max}``, stored beside it), and ``loss_lower_bound`` (the ideal point
    of Tchebycheff scalarizers with ``ideal: problem``).
    """

    metric: str = "loss"
    direction: Literal["min", "max"] | None = None
    also: dict[str, Literal["min", "max"]] = Field(default_factory=dict)
    loss_lower_bound: float = 0.0


class ScalarizerSpec(_Frozen):
    """``scalarizer``: see :mod:`paretosweep.scalarizers` for the formulas and the ideal point."""

    name: ScalarizerName = "tchebycheff"
    ideal: Literal["problem", "running_min"] | tuple[float, ...] = "problem"
    mu: float = Field(0.1, gt=0)
    ideal_margin: float = Field(1e-3, ge=0)


class RefineSpec(_Frozen):
    """``sampler.refine``: shares of each adaptive round spent on refinement (see paretosweep.sampling).

    ``focus``: into the ``sampler.focus`` region (or around the knee with ``focus: knee``);
    ``knee``: around the frontier's knee; ``crowded``: where frontier points crowd. The rest of
    each round goes to the largest gaps.
    """

    focus: float = Field(0.75, ge=0, le=1)
    knee: float = Field(0.0, ge=0, le=1)
    crowded: float = Field(0.0, ge=0, le=1)


class SamplerSpec(_Frozen):
    """``sampler``: the design of the swept weight vectors on the simplex.

    ``auto`` (the default) is the Das–Dennis lattice when it is fine enough and the Riesz-energy
    design otherwise; :func:`paretosweep.sampling.resolve_design` states the rule.
    """

    name: SamplerName = "auto"
    floor: float = Field(0.01, ge=0)
    weights: tuple[tuple[float, ...], ...] | None = None
    # adaptive only (see paretosweep.sampling); n_initial vs budget/tasks and focus vs objectives are checked by make_sampler
    n_initial: int | None = Field(None, gt=0)
    tolerance: float = Field(0.02, gt=0)
    batch: int = Field(2, gt=0)
    focus: Literal["knee"] | tuple[str, ...] | None = None
    refine: RefineSpec = RefineSpec()
    retests: int = Field(0, ge=0)
    retest_margin: float = Field(0.02, gt=0)
    # conditioned only (see paretosweep.sampling._conditioned): one weight-conditioned training, `verify` real trials
    verify: int = 3
    # 0.5 draws the simplex's edges more often; it met the conditioned goal in 8 of 9 benchmark seeds, 1.0 in 5 (RESULTS.md)
    alpha: float = 0.5
    per_sample: bool = False
    cosmos: float = Field(0.0, ge=0)
    dense: int = Field(200, ge=2)
    verify_epochs: int | None = Field(None, ge=1)
    verify_from: Literal["conditioned", "scratch"] = "conditioned"
    film: Literal["representation", "layers"] = "representation"

    @field_validator("focus", mode="before")
    @classmethod
    def _one_bound_is_a_list(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) and value != "knee" else value

    @model_validator(mode="after")
    def _explicit_needs_weights(self) -> SamplerSpec:
        if self.name == "explicit" and self.weights is None:
            raise ValueError("sampler `explicit` needs `sampler.weights`: a list of weight vectors")
        if self.name != "explicit" and self.weights is not None:
            raise ValueError(f"`sampler.weights` is only read by sampler `explicit` (found `{self.name}`)")
        # Only values other than the defaults are refused, so a dumped spec (every field written) re-validates.
        adaptive_only = sorted(
            f
            for f in ("n_initial", "tolerance", "batch", "focus", "refine", "retests", "retest_margin")
            if getattr(self, f) != type(self).model_fields[f].default
        )
        if self.name != "adaptive" and adaptive_only:
            raise ValueError(f"`sampler.{adaptive_only[0]}` is only read by sampler `adaptive` (found `{self.name}`)")
        conditioned_only = sorted(
            f
            for f in ("verify", "alpha", "per_sample", "cosmos", "dense", "verify_epochs", "verify_from", "film")
            if getattr(self, f) != type(self).model_fields[f].default
        )
        if self.name != "conditioned" and conditioned_only:
            raise ValueError(f"`sampler.{conditioned_only[0]}` is only read by sampler `conditioned` (found `{self.name}`)")
        if not self.alpha > 0:
            raise ValueError(
                f"`sampler.alpha` is {self.alpha:g}: the Dirichlet concentration of the conditioned training's weight "
                "vectors should be > 0 (1: uniform on the simplex, below 1: towards its corners)"
            )
        if self.verify < 1:
            raise ValueError(
                f"`sampler.verify` is {self.verify}: at least one real trial should verify the proposed front; set it to 1 or more"
            )
        r = self.refine
        used = r.knee + r.crowded + (r.focus if self.focus is not None else 0.0)
        if used > 1.0 + 1e-9:
            raise ValueError(
                f"`sampler.refine` shares add up to {used:g} (knee {r.knee:g} + crowded {r.crowded:g}"
                f"{f' + focus {r.focus:g}' if self.focus is not None else ''}); they should add up to at most 1: lower one of them"
            )
        return self


class BudgetSpec(_Frozen):
    """``budget``: how many trials and how long each trains."""

    n_weights: int = Field(16, gt=0)
    seeds_per_weight: int = Field(1, gt=0)
    epochs: int = Field(5, gt=0)
    steps_per_epoch: int | None = Field(None, gt=0)
    lr: tuple[float, ...] = (1e-2,)
    optimizer: Literal["adam", "sgd"] = "adam"
    #: Weight vectors trained together in one Ray trial as a vectorised ensemble;
    #: ``auto``: from the model's parameter count and the device (paretosweep.trial._packed.auto_pack_size).
    pack_size: int | Literal["auto"] = 1

    @field_validator("pack_size")
    @classmethod
    def _pack_size_positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("pack_size should be an integer >= 1 or `auto`")
        return value

    @field_validator("lr", mode="before")
    @classmethod
    def _lr_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, (int, float)) else value

    @field_validator("lr")
    @classmethod
    def _lr_positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("every learning rate should be > 0")
        return value


class ResourcesSpec(_Frozen):
    """``resources``: what one trial reserves on the Ray cluster (fractions allowed)."""

    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)


class RaySpec(_Frozen):
    """``ray``: where trials run. No address starts a local Ray instance."""

    address: str | None = None
    num_cpus: int | None = Field(None, gt=0)


class MethodSpec(BaseModel):
    """``methods[i]``: a comparison method by registry name, with its parameters inline."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str

    @property
    def params(self) -> dict[str, Any]:
        """The method's parameters (every key but ``name``)."""
        return dict(self.model_extra or {})


class SweepSpec(_Frozen):
    """A whole sweep. ``paretosweep run SPEC --dry-run`` shows what it plans."""

    name: str = "sweep"
    problem: ProblemSpec
    tasks: dict[str, TaskObjective] = Field(default_factory=dict)
    scalarizer: ScalarizerSpec = ScalarizerSpec()
    sampler: SamplerSpec = SamplerSpec()
    budget: BudgetSpec = BudgetSpec()
    methods: tuple[MethodSpec, ...] = ()
    resources: ResourcesSpec = ResourcesSpec()
    concurrency: int | None = Field(None, gt=0)
    max_retries: int = Field(0, ge=0)
    seed: int = 0
    storage: str | None = None
    ray: RaySpec = RaySpec()
    reference_point: dict[str, float] | None = None
    checkpoints: CheckpointsSpec = CheckpointsSpec()
    callbacks: tuple[CallbackSpec, ...] = ()
    scheduler: SchedulerSpec | None = None
    warm_start: WarmStartSpec | None = None

    @model_validator(mode="after")
    def _warm_start_leaves_epochs_to_train(self) -> SweepSpec:
        w, budget = self.warm_start, self.budget
        if w is None:
            return self
        if w.epochs >= budget.epochs:
            what = "the shared model for the epochs left" if w.from_ == "shared" else "a neighbour's checkpoint for fewer epochs"
            raise ValueError(
                f"`warm_start.epochs` ({w.epochs}) should be smaller than `budget.epochs` ({budget.epochs}): the trials "
                f"continue from {what}. Lower `warm_start.epochs` or raise `budget.epochs`."
            )
        if w.from_ == "nearest" and self.sampler.name != "adaptive":
            raise ValueError(
                f"`warm_start: {{from: nearest}}` starts the trials the adaptive sampler proposes from their nearest completed "
                f"neighbour, but `sampler.name` is `{self.sampler.name}`. Set `sampler: {{name: adaptive}}`, or use "
                "`warm_start: {from: shared, epochs: E}` with a static design."
            )
        if budget.pack_size != 1:
            raise ValueError(
                f"`warm_start` with `budget.pack_size: {budget.pack_size}`: packed trials start from their own models. "
                "Set `budget.pack_size: 1` or drop `warm_start`."
            )
        return self

    @field_validator("scheduler", mode="before")
    @classmethod
    def _scheduler_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _scheduler_has_epochs_to_save(self) -> SweepSpec:
        s, budget = self.scheduler, self.budget
        if s is None:
            return self
        if budget.epochs == 1:
            raise ValueError(
                "`scheduler` stops trials between their reports, but `budget.epochs` is 1: every trial reports once "
                "and there is nothing to stop early. Raise `budget.epochs` or drop `scheduler`."
            )
        if s.grace_epochs >= budget.epochs:
            raise ValueError(
                f"`scheduler.grace_epochs` ({s.grace_epochs}) should be smaller than `budget.epochs` ({budget.epochs}): "
                "the first rung, where trials are first compared, must come before the last epoch. "
                f"Lower `scheduler.grace_epochs` (e.g. 1) or raise `budget.epochs`."
            )
        if budget.pack_size != 1:
            raise ValueError(
                f"`scheduler` with `budget.pack_size: {budget.pack_size}`: a packed trial trains several weight vectors "
                "in one Ray trial, and the scheduler can only stop a whole Ray trial, not one member of it. "
                "Set `budget.pack_size: 1` or drop `scheduler`."
            )
        return self

    @field_validator("callbacks", mode="before")
    @classmethod
    def _callback_names(cls, value: Any) -> Any:
        return [{"name": v} if isinstance(v, str) else v for v in value] if isinstance(value, (list, tuple)) else value

    @model_validator(mode="after")
    def _trainable_declares_its_tasks(self) -> SweepSpec:
        if self.problem.trainable is None:
            return self
        if len(self.tasks) < 2:
            raise ValueError(
                "a function trainable (`problem.trainable`) needs a `tasks:` block declaring at least two tasks, "
                "e.g. `tasks: {click: {metric: auc, direction: max}, buy: {metric: loss, direction: min}}`"
            )
        undirected = [t for t, o in self.tasks.items() if o.direction is None]
        if undirected:
            raise ValueError(
                f"`tasks.{undirected[0]}.direction` is required with a function trainable (paretosweep cannot look "
                "it up in a problem): set it to `min` or `max`"
            )
        return self

    @model_validator(mode="after")
    def _something_to_run(self) -> SweepSpec:
        if self.sampler.name == "explicit" and not self.sampler.weights and not self.methods:
            raise ValueError(
                "`sampler.weights` is empty and there are no `methods`: the sweep would run nothing. "
                "Give at least one weight vector, or a comparison method."
            )
        return self

    @property
    def run_dir(self) -> str:
        """The run directory (``storage``, or ``runs/<name>``)."""
        return self.storage or str(Path("runs") / self.name)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the nested model at ``loc`` (for did-you-mean on unknown keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            break
        annotation = info.annotation
        current = next(
            (a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)),
            annotation,
        )
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def format_validation_error(error: ValidationError, source: str) -> ConfigError:
    """Turn pydantic's errors into one ConfigError naming each field path and the fix."""
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            known = _fields_at(SweepSpec, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            lines.append(f"- `{path}`: unknown key.{hint} Allowed here: {', '.join(known)}.")
        elif item["type"] == "missing":
            lines.append(f"- `{path}`: required, but missing.")
        else:
            found = item.get("input")
            lines.append(f"- `{path}`: {item['msg']} (found {found!r}).")
    return ConfigError(f"Invalid sweep spec {source}:\n" + "\n".join(lines))


def parse_spec(data: Any, *, source: str = "(dict)") -> SweepSpec:
    """Validate a mapping (e.g. parsed YAML) into a :class:`SweepSpec`."""
    if not isinstance(data, dict):
        raise ConfigError(f"Invalid sweep spec {source}: expected a mapping of keys at the top level; found {type(data).__name__}.")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as error:
        raise format_validation_error(error, source) from None


def load_config(path: str | Path) -> SweepSpec:
    """Read and validate a YAML sweep spec.

    Raises:
        ConfigError: see :func:`read_spec_data`, or a field is unknown, missing or out of range
            (the message gives its path).
    """
    return parse_spec(read_spec_data(path), source=f"`{Path(path)}`")


def as_spec(spec: SweepSpec | str | Path | dict[str, Any]) -> SweepSpec:
    """A validated spec from a spec object, a YAML path or a mapping."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_config(spec)
