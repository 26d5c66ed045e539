import torch
from torch import nn

import paretosweep

X = torch.randn(640, 8, generator=torch.Generator().manual_seed(0))
Y = {"a": X[:, :4].sum(1), "b": (X[:, 2:6] ** 2).sum(1)}  # two regression tasks sharing x[:, 2:4]
make_model = lambda: nn.ModuleDict({"trunk": nn.Sequential(nn.Linear(8, 32), nn.ReLU()), **{t: nn.Linear(32, 1) for t in Y}})
predict = lambda model, x: {t: model[t](model["trunk"](x)).squeeze(1) for t in Y}


def train(ctx: paretosweep.TrialContext) -> None:
    torch.manual_seed(ctx.seed)
    model, epochs = make_model().to(ctx.device), ctx.config["epochs"]
    opt = torch.optim.AdamW(model.parameters(), lr=ctx.config["lr"], weight_decay=1e-4)
    schedule, start = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs), 0
    if ctx.checkpoint is not None:  # a retried trial goes on after its last reported epoch
        start = ctx.checkpoint["epoch"] + 1
        for part in (model, opt, schedule):
            part.load_state_dict(ctx.checkpoint[type(part).__name__])
    for epoch in range(start, epochs):
        for rows in torch.randperm(512).split(64):
            out, _ = predict(model, X[rows]), opt.zero_grad()
            ctx.backward({t: nn.functional.mse_loss(out[t], Y[t][rows]) for t in Y}, shared=list(model["trunk"].parameters()))
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
        schedule.step()
        with torch.no_grad():  # the objectives, on the 128 held-out rows
            metrics = {f"{t}_loss": nn.functional.mse_loss(out, Y[t][512:]).item() for t, out in predict(model, X[512:]).items()}
        ctx.report(metrics, checkpoint={"epoch": epoch, **{type(p).__name__: p.state_dict() for p in (model, opt, schedule)}})


tasks, budget = {t: {"metric": "loss", "direction": "min"} for t in Y}, {"n_weights": 5, "epochs": 8, "lr": 0.02}
spec = {"name": "own-loop", "storage": "runs/own-loop", "tasks": tasks, "budget": budget, "methods": [{"name": "pcgrad"}]}
summary = paretosweep.run(spec, trainable=train, overwrite=True)
front = paretosweep.load_frontier(summary.run_dir)
print(front[["trial_id", "weights", "a_loss", "b_loss"]])
model = make_model()  # the model of the first frontier point, ready to ship
model.load_state_dict(paretosweep.load_checkpoint(summary.run_dir, front["seed_trial_ids"][0][0])["ModuleDict"])
