"""PyTorch data-parallel runner: one rank of `DistributedDataParallel`, the rest as `torch`.

The harness starts one process per rank (`bench.launchers.ranks`) with torchrun's environment
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); this runner adds two phases to the protocol:

- `dist_init`: `torch.distributed.init_process_group` — the rendezvous at MASTER_ADDR:PORT (a
  TCP store), with `gloo` on the CPU and `nccl` on CUDA. On CUDA it passes
  `device_id=torch.device("cuda", 0)` (each rank sees only its own GPU): torch documents that
  this forms the NCCL communicator at once (`ncclCommInit*`) instead of lazily at the first
  collective, so communicator creation is charged to `dist_init`, not to the first step.
- `wrap`: `DistributedDataParallel(model)` — it broadcasts rank 0's parameters and buffers to
  every rank (the first collective on gloo) and builds the gradient buckets.

The first backward's all-reduce then lands in `first_step`; DDP rebuilds its buckets once, in
the order gradients arrived, before the second iteration (in `first_epoch_rest`).

Data: every rank loads the same seeded data set of world size × `samples` samples and trains on
its own disjoint slice (`shard`: rank r takes samples r·S … (r+1)·S − 1), so the ranks never see
the same samples and every run draws the same ones. The clock's barrier is `dist.barrier()`
(on CUDA with `device_ids=[0]`), followed by the device sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.runners.torch import TorchRunner

if TYPE_CHECKING:
    from bench.contract.clock import TrainingClock
    from bench.contract.trial import Trial


def init_process_group(dist: Any, torch: Any, device_kind: str, rank: int, world: int) -> str:
    """Join the trial's process group (env:// rendezvous); return the backend's name."""
    if device_kind == "cuda":
        dist.init_process_group(
            "nccl",
            init_method="env://",
            rank=rank,
            world_size=world,
            device_id=torch.device("cuda", 0),
        )
        return "nccl"
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    return "gloo"


def barrier(dist: Any, device_kind: str) -> None:
    """Wait for every rank (NCCL's barrier on this rank's one visible GPU)."""
    if device_kind == "cuda":
        dist.barrier(device_ids=[0])
    else:
        dist.barrier()


def wrap_model(torch: Any, model: Any, device: Any) -> Any:
    """`DistributedDataParallel` around the built model (on CUDA, on this rank's GPU)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index or 0] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


class TorchDDPRunner(TorchRunner):
    def __init__(self, trial: Trial) -> None:
        super().__init__(trial)
        self.backend = ""

    def init_distributed(self) -> None:
        import torch.distributed as dist

        self.dist = dist
        t = self.trial
        self.backend = init_process_group(dist, self.torch, t.device_kind, t.rank, t.world_size)

    def barrier(self) -> None:
        barrier(self.dist, self.trial.device_kind)

    def shard(self, x: Any, y: Any) -> tuple[Any, Any]:
        size, rank = self.trial.rank_samples_per_epoch, self.trial.rank
        part = slice(rank * size, (rank + 1) * size)
        return x[part].clone(), y[part].clone()

    def wrap(self) -> None:
        self.model = wrap_model(self.torch, self.model, self.device)

    def flops_model(self) -> Any:
        """DDP's own module: its forward and backward start no collective (a backward DDP's
        forward did not prepare leaves the reducer's hooks idle), so ranks cannot hang here."""
        return self.model.module

    def fit(self, clock: TrainingClock) -> None:
        super().fit(clock)  # counts a native model's FLOPs while the process group still exists
        self.dist.destroy_process_group()

    def settings(self) -> dict[str, str]:
        return super().settings() | {
            "torch.distributed.backend": self.backend,
            "torch.distributed.world_size": str(self.dist.get_world_size()),
            "torch.distributed.rank": str(self.dist.get_rank()),
        }


def make(trial: Trial) -> TorchDDPRunner:
    return TorchDDPRunner(trial)
