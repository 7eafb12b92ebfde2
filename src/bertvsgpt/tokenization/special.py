"""Special tokens of each model's vocabulary, as the papers define them.

BERT (Devlin et al., 2018): ``[CLS] A [SEP] B [SEP]`` plus ``[MASK]`` for the masked LM.
GPT (Radford et al., 2018, figure 1): fine-tuning inputs are ``start text extract`` and
pairs/choices are joined by a ``delim`` token; documents are separated by an end-of-text token.
"""

BERT_PAD, BERT_UNK, BERT_CLS, BERT_SEP, BERT_MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
BERT_SPECIAL_TOKENS = [BERT_PAD, BERT_UNK, BERT_CLS, BERT_SEP, BERT_MASK]

GPT_PAD, GPT_EOT, GPT_START, GPT_DELIM, GPT_EXTRACT = (
    "<|pad|>",
    "<|endoftext|>",
    "<|start|>",
    "<|delim|>",
    "<|extract|>",
)
GPT_SPECIAL_TOKENS = [GPT_PAD, GPT_EOT, GPT_START, GPT_DELIM, GPT_EXTRACT]

SPECIAL_TOKENS = {"bert": BERT_SPECIAL_TOKENS, "gpt": GPT_SPECIAL_TOKENS}
PAD_TOKEN = {"bert": BERT_PAD, "gpt": GPT_PAD}
EOT_TOKEN = {"gpt": GPT_EOT}
