"""The data pipeline: packing sampler, iterator factories, robust dataset, preprocessor."""
