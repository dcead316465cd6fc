"""L_SSL: masked self-distillation (objective, head, centring, patch loss, EMA teacher, masking)."""
