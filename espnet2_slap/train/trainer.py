"""SLAPTrainer: ESPnet's ``Trainer`` with the two changes a SLAP model needs.

* A run that starts from initial weights (``--init_param``, e.g. fine-tuning a pretrained
  SLAP model) starts a fresh EMA teacher schedule: ESPnet loads those weights, teacher step
  count included, before the trainer runs; :meth:`SLAPTrainer.run` then resets the step, so
  the teacher is copied from the loaded student at the first step and its momentum follows
  this run's schedule. ``--resume`` loads ``checkpoint.pth`` afterwards (inside
  ``Trainer.run``), which restores the saved step and teacher: a resumed run continues.
* Attention plots are skipped. ESPnet runs them on rank 0 alone, and the model's forward
  calls collectives (the contrastive loss gathers every rank's embeddings, the Sinkhorn
  centring all-reduces) that no other rank would join: gloo aborts, NCCL hangs. The SLAP
  encoders do not use ESPnet's attention modules either, so there would be nothing to plot.
"""

import logging

from espnet2_slap.train.robust_trainer import RobustTrainer


class SLAPTrainer(RobustTrainer):
    """ESPnet's Trainer; fresh teacher schedule unless resumed, no attention plots.

    Its base adds bf16 autocast on CPU and skipped-file stats (see ``robust_trainer``).
    """

    @classmethod
    def run(cls, model, *args, **kwargs) -> None:
        start_new_schedule = getattr(model, "start_new_teacher_schedule", None)
        if start_new_schedule is not None:
            start_new_schedule()  # a resumed run restores the saved step in Trainer.run
        super().run(model, *args, **kwargs)

    @classmethod
    def plot_attention(cls, *args, **kwargs) -> None:
        """Skipped: rank 0 alone would call the model's collectives (see module docstring)."""
        logging.info("SLAPTrainer: attention plots are not supported; --num_att_plot is ignored")
