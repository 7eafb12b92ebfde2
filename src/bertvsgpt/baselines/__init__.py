"""Classical baselines beside every downstream score: what a model must beat to have learned anything.

One module per task kind, each with a trivial *reference* baseline (the majority class, chance, all
``O``, the first words of the passage, the source copied) and a classical one fitted on the training
split (TF-IDF + logistic regression, a TF-IDF option ranker, the most frequent tag per word, the
sliding-window lexical matcher, nearest-neighbour retrieval of a training translation):

* :mod:`.classification`, :mod:`.multiple_choice`, :mod:`.token_classification`,
  :mod:`.extractive_qa`, :mod:`.translation`: the baselines, each ``run(frames, seed)``;
* :mod:`.base`: what they return (the kind's ``metrics.json`` keys and ``predictions.parquet``
  columns, exactly as the kind's fine-tuning writes them, so the report compares a model and a
  baseline example by example);
* :mod:`.run`: the splits through the fine-tuning's own capping, one kind's baselines, the outputs.
"""
