"""Text-generation metrics (machine translation): BLEU and chrF with sacreBLEU.

sacreBLEU (Post, 2018, "A Call for Clarity in Reporting BLEU Scores") scores *detokenised*
hypotheses against raw references with its own fixed tokenisation, so scores do not depend on
either model's tokenizer. Defaults are the standard ones: BLEU (Papineni et al., 2002) with the
``13a`` tokeniser, exponential smoothing, one reference, case-sensitive; chrF (Popović, 2015)
with character n-grams up to 6, beta = 2, whitespace ignored. Corpus scores sum the n-gram
statistics over all sentences (they are not the mean of sentence scores). Scores are on the
0-100 scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses and references differ in length ({len(hypotheses)} vs {len(references)})")
    if len(hypotheses) == 0:
        raise ValueError("no hypotheses to score")
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        if not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{name} must be strings")


def translation_metrics(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus ``{"bleu": ..., "chrf": ...}`` (0-100) of generated vs reference texts (one reference each)."""
    _check(hypotheses, references)
    refs = [list(references)]
    return {
        "bleu": float(BLEU().corpus_score(list(hypotheses), refs).score),
        "chrf": float(CHRF().corpus_score(list(hypotheses), refs).score),
    }


def metric_signatures() -> dict[str, str]:
    """sacreBLEU's signatures of the metrics above (settings + version), for reporting."""
    signatures = {}
    for name, metric in (("bleu", BLEU()), ("chrf", CHRF())):
        metric.corpus_score(["a"], [["a"]])  # the signature needs the number of references
        signatures[name] = str(metric.get_signature())
    return signatures


def sentence_chrf(hypothesis: str, reference: str) -> float:
    """chrF (0-100) of a single sentence, for per-example inspection."""
    _check([hypothesis], [reference])
    return float(CHRF().sentence_score(hypothesis, [reference]).score)
