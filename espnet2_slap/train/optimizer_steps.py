"""The run's planned optimizer steps: the one count behind every schedule.

A run's learning-rate schedule and its EMA momentum schedule both span the optimizer steps
the run will really take on its world size: the sum over its epochs of
``batches_in_epoch // accum_grad``, counted from the same samplers the training iterator
draws its batches from (:func:`count_optimizer_steps`). Configs carry epochs and warm-up,
never a total: :func:`plan_schedulers` writes the count into the scheduler's length
argument (``RUN_LENGTH_KEYS``) before ESPnet builds the scheduler, and refuses a config that
sets it to anything else. :func:`keep_planned_length` holds a resumed scheduler to the count
of the run that resumes it (the EMA teacher recomputes its length the same way).
"""

import argparse
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from espnet2.samplers.build_batch_sampler import build_batch_sampler
from espnet2.schedulers.cosine_anneal_warmup_restart import CosineAnnealingWarmupRestarts
from espnet2.tasks.abs_task import scheduler_classes

from espnet2_slap.data.sharded_iter_factory import count_packed_batches

# Batch-step schedulers (ESPnet's names) whose argument is the run's length in optimizer steps
RUN_LENGTH_KEYS = {
    "cosineannealingwarmuprestarts": "first_cycle_steps",
    "tristagelr": "max_steps",
    "exponentialdecaywarmup": "total_steps",
    "onecyclelr": "total_steps",
}
# Arguments that would give those schedulers a second, hand-set length
_COMPETING_KEYS = {"onecyclelr": ("epochs", "steps_per_epoch")}


def data_parallel_world(
    world_size: Optional[int] = None, rank: Optional[int] = None
) -> Tuple[int, int]:
    """``(world_size, rank)``: as given, else from ``torch.distributed``, else ``(1, 0)``."""
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if world_size is None:
        world_size = torch.distributed.get_world_size() if distributed else 1
    if rank is None:
        rank = torch.distributed.get_rank() if distributed else 0
    return world_size, rank


def count_optimizer_steps(
    args: argparse.Namespace,
    tokens_fn: Callable[[int], int],
    world_size: Optional[int] = None,
    rank: Optional[int] = None,
    wrap_sampler: Optional[Callable[[Any], Any]] = None,
) -> int:
    """Sum over epochs of ``batches_in_epoch // accum_grad`` (at least 1).

    The packing sampler is deterministic given (seed, epoch), so each epoch's batches are
    counted exactly (for this rank under DDP, where all ranks get the same count); ESPnet's
    own samplers give the same batches every epoch, and under DDP its sequence iterator
    splits every batch across the ranks (``batch[rank::world_size]``), so each rank also
    runs every batch of the sampler: the count does not shrink with the world size. With
    ``--num_iters_per_epoch`` every epoch has that many batches.

    Args:
        args: the training arguments (``max_epoch``, ``accum_grad``, iterator options).
        tokens_fn: waveform samples -> audio tokens (the packing cost).
        world_size, rank: this process' place (default: ``torch.distributed``'s).
        wrap_sampler: packing sampler -> the sampler the training iterator really uses
            (e.g. tagging's balanced sampling).
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    world_size, rank = data_parallel_world(world_size, rank)
    if args.num_iters_per_epoch is not None:
        per_epoch = [args.num_iters_per_epoch] * args.max_epoch
    elif args.iterator_type == "task":  # a shape file, or split dirs (--multiple_iterator)
        per_epoch = count_packed_batches(
            args.train_shape_file[0],
            tokens_fn,
            token_budget=args.batch_tokens,
            seed=args.seed,
            epochs=list(range(1, args.max_epoch + 1)),
            world_size=world_size,
            rank=rank,
            wrap_sampler=wrap_sampler,
        )
    else:
        sampler = build_batch_sampler(
            type=args.batch_type,
            shape_files=args.train_shape_file,
            fold_lengths=args.fold_length,
            batch_size=args.batch_size,
            batch_bins=args.batch_bins,
            sort_in_batch=args.sort_in_batch,
            sort_batch=args.sort_batch,
            drop_last=args.drop_last_iter,
            # as ESPnet's sequence iterator builds it under DDP
            min_batch_size=world_size if distributed or world_size > 1 else args.min_batch_size,
        )
        per_epoch = [len(sampler)] * args.max_epoch
    total = sum(n // args.accum_grad for n in per_epoch)
    shown = per_epoch if len(set(per_epoch)) > 1 else f"{per_epoch[0]} each"
    logging.info(
        f"planned optimizer steps: {max(total, 1)} ({args.max_epoch} epochs of {shown} "
        f"batches, accum_grad {args.accum_grad}, world size {world_size}); they drive the "
        f"learning-rate and EMA schedules"
    )
    if total < 1:
        logging.warning("fewer batches than --accum_grad: the schedules get 1 step")
    return max(total, 1)


def once(fn: Callable[[], int]) -> Callable[[], int]:
    """``fn`` computed on the first call only (counting packs every epoch once)."""
    cache: List[int] = []

    def cached() -> int:
        if not cache:
            cache.append(fn())
        return cache[0]

    return cached


def scheduler_suffixes(num_optimizers: int = 1) -> List[str]:
    """ESPnet's option suffixes of the schedulers: ``""``, ``"2"``, ..."""
    return [""] + [str(i) for i in range(2, num_optimizers + 1)]


def plan_schedulers(
    args: argparse.Namespace, planned_steps: Callable[[], int], num_optimizers: int = 1
) -> None:
    """Write the planned optimizer steps into each scheduler's length argument.

    Runs before ESPnet builds the schedulers from ``args.scheduler_conf`` (in the task's
    ``build_optimizers``). ``planned_steps`` is called only for a scheduler that has a
    length (``RUN_LENGTH_KEYS``), and not under ``--collect_stats``, where ESPnet builds the
    schedulers but never steps them (they get the shortest valid length).

    Raises:
        ValueError: the config sets the length to another value (a hand-set cycle; the
            message names the key and both values), sets a competing length argument, or
            asks for a warm-up as long as the run.
    """
    for suffix in scheduler_suffixes(num_optimizers):
        name = getattr(args, f"scheduler{suffix}", None)
        key = RUN_LENGTH_KEYS.get(str(name).lower())
        if key is None:
            continue
        option = f"scheduler{suffix}_conf"
        conf: Dict = dict(getattr(args, option, None) or {})
        for competing in _COMPETING_KEYS.get(name.lower(), ()):
            if competing in conf:
                raise ValueError(
                    f"{option}.{competing}: {name} takes its length from the run's planned "
                    f"optimizer steps ({option}.{key}); remove {competing} from the config"
                )
        if getattr(args, "collect_stats", False):
            conf.setdefault(key, int(conf.get("warmup_steps") or 0) + 1)
            setattr(args, option, conf)
            continue
        total = planned_steps()
        given = conf.get(key)
        if given is not None and given != total:
            raise ValueError(
                f"{option}.{key}: {given} in the config, but this run takes {total} optimizer "
                f"steps (its epochs, batches, --accum_grad and world size); the length is "
                f"counted, never set by hand: remove {key} from the config"
            )
        warmup = conf.get("warmup_steps")
        if warmup is not None and warmup >= total:
            raise ValueError(
                f"{option}.warmup_steps: {warmup} is not shorter than the run's {total} "
                f"planned optimizer steps"
            )
        conf[key] = total
        setattr(args, option, conf)
        logging.info(f"{option}.{key} = {total}: the run's planned optimizer steps")


def scheduler_length(scheduler: Any) -> Optional[int]:
    """The run length a scheduler of ``RUN_LENGTH_KEYS`` was built with, else None."""
    for name, key in RUN_LENGTH_KEYS.items():
        if type(scheduler) is scheduler_classes[name]:
            return int(getattr(scheduler, key))
    return None


def keep_planned_length(scheduler: Any, planned: Optional[int]) -> None:
    """After ``--resume`` loaded a scheduler's state: hold it to this run's planned length.

    The loaded state carries the length of the interrupted run; when this run plans another
    one (more epochs, another world size) ``CosineAnnealingWarmupRestarts`` continues on the
    new length (as the EMA schedule does) instead of restarting its warm-up at the old end.

    Raises:
        ValueError: another length-carrying scheduler whose length changed.
    """
    loaded = scheduler_length(scheduler)
    if planned is None or loaded is None or loaded == planned:
        return
    if not isinstance(scheduler, CosineAnnealingWarmupRestarts):
        raise ValueError(
            f"the checkpoint's {type(scheduler).__name__} spans {loaded} optimizer steps but "
            f"this run plans {planned}: resume with the epochs and world size it was started "
            f"with"
        )
    if scheduler.cycle == 0:
        scheduler.cur_cycle_steps = planned
    scheduler.first_cycle_steps = planned
    lrs = scheduler.get_lr()  # the new curve's value at the resumed position
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = list(lrs)
    logging.warning(
        f"resumed run: the learning-rate schedule spans {planned} optimizer steps now, not "
        f"the checkpoint's {loaded} (epochs or world size changed)"
    )
