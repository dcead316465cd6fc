"""How many optimizer steps a training run will take (for the EMA momentum schedule)."""

import argparse
import logging
from typing import Callable

import torch

from espnet2.samplers.build_batch_sampler import build_batch_sampler

from espnet2_slap.data.sharded_iter_factory import count_packed_batches


def count_optimizer_steps(args: argparse.Namespace, tokens_fn: Callable[[int], int]) -> int:
    """Sum over epochs of ``batches_in_epoch // accum_grad``.

    The packing sampler is deterministic given (seed, epoch), so each epoch's batches are
    counted exactly (for this rank under DDP, where all ranks get the same count); ESPnet's
    own samplers give the same batches every epoch, and under DDP its sequence iterator
    splits every batch across the ranks (``batch[rank::world_size]``), so each rank also
    runs every batch of the sampler: the count does not shrink with the world size.

    Args:
        args: the training arguments (``max_epoch``, ``accum_grad``, iterator options).
        tokens_fn: waveform samples -> audio tokens (the packing cost).
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    world_size = torch.distributed.get_world_size() if distributed else 1
    rank = torch.distributed.get_rank() if distributed else 0
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
            min_batch_size=world_size if distributed else args.min_batch_size,
        )
        per_epoch = [len(sampler)] * args.max_epoch
    total = sum(n // args.accum_grad for n in per_epoch)
    if total < 1:
        logging.warning("fewer batches than --accum_grad: the EMA schedule gets 1 step")
    return max(total, 1)
