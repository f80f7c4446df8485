"""A tiny, randomly initialised Llama 3.2 Vision (Mllama) checkpoint, built offline.

`build_tiny_mllama(directory)` writes a complete Hugging Face-format checkpoint
(config, safetensors weights, tokenizer, image processor, and a processor whose
chat template follows Meta's rules for Llama 3.2 Vision) of a few hundred KB into
`directory`, so the local-transformers backend (and `transformers serve`) can be
tested on CPU through the same loading path as the real 11B/90B weights. Nothing is downloaded: the tokenizer is trained
on the spot with `tokenizers`, the weights come from a seeded random init.

`save_mllama_checkpoint(model, directory, processor)` saves any Mllama model with
a processor: the benchmark (benchmarks/local_gpu.py) uses it, with
`build_tokenizer(128000)` and `build_processor(..., tile_size=560, max_tiles=4)`,
for a randomly initialised model of the real 11B architecture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Union

SEED = 1234
TILE_SIZE = 28  # pixels per tile side (two 14-pixel patches)
MAX_TILES = 2
TINY_BASE_VOCAB = 400
# Wider than the usual 0.02 so that a model this small answers different prompts
# and images with visibly different token sequences.
INIT_STD = 0.3
IMAGE_TOKEN = "<|image|>"


def llama3_special_tokens() -> List[str]:
    """The 256 special tokens that follow the base vocabulary in Llama 3 tokenizers.

    Same order as the real tokenizer, so with a 128000-token base vocabulary
    every special token has its real id (`<|eot_id|>` = 128009, ...).
    """
    names = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|finetune_right_pad_id|>",
        "<|reserved_special_token_2|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
        "<|python_tag|>",
    ]
    names += [f"<|reserved_special_token_{i}|>" for i in range(3, 3 + 256 - len(names))]
    return names


# Our own chat template, written to Meta's rules for Llama 3.2 Vision (the
# template shipped with Llama-3.2-11B/90B-Vision-Instruct behaves the same on
# these points): a system message beside an image is refused with Meta's
# message, and a turn renders as
# `<|start_header_id|>ROLE<|end_header_id|>\n\n` + content + `<|eot_id|>`, an
# image part as `<|image|>`. Meta's template also adds a dated system turn to
# prompts without an image; the block never sends one, so it is left out.
SYSTEM_WITH_IMAGE_ERROR = "Prompting with images is incompatible with system messages."
CHAT_TEMPLATE = (
    "{%- set found = namespace(image=false, system=false) %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}{%- set found.system = true %}{%- endif %}"
    "{%- if message['content'] is not string %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'image' %}{%- set found.image = true %}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{%- endfor %}"
    "{%- if found.image and found.system %}"
    "{{- raise_exception('" + SYSTEM_WITH_IMAGE_ERROR + "') }}"
    "{%- endif %}"
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'image' %}{{- '<|image|>' }}"
    "{%- elif part['type'] == 'text' %}{{- part['text'] }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

_CORPUS = [
    "A photo of a cat sitting on a red chair next to the window.",
    "Read the text in this image. Write a short caption for this image.",
    "Question: how many people are in the picture? Answer: three.",
    "Classes: cat, dog, person, car, bicycle, traffic light, stop sign.",
    '```json {"class_name": "dog", "confidence": 0.8} ```',
    "You are an OCR engine. Describe the image in one short sentence.",
    "The quick brown fox jumps over the lazy dog 0123456789.",
]


def build_tokenizer(base_vocab_size: int = TINY_BASE_VOCAB):
    """A byte-level BPE tokenizer laid out like Llama 3's.

    Ids 0..base_vocab_size-1 are ordinary tokens (BPE merges trained on a small
    corpus, then unreachable filler entries up to the requested size), followed by
    Llama 3's 256 special tokens, then `<|image|>`, which sits just past the text
    vocabulary (id 128256 in the real checkpoints, whose embedding table has 8 rows
    to spare for it; the language head can never produce it).
    """
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=base_vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    trained.train_from_iterator(_CORPUS * 20, trainer=trainer)
    model = json.loads(trained.to_str())["model"]
    vocab = dict(model["vocab"])
    merges = [tuple(pair) if isinstance(pair, list) else tuple(pair.split(" ")) for pair in model["merges"]]
    filler = 0
    while len(vocab) < base_vocab_size:
        vocab[f"<filler_{filler}>"] = len(vocab)
        filler += 1

    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(llama3_special_tokens() + [IMAGE_TOKEN])
    bos_id = backend.token_to_id("<|begin_of_text|>")
    backend.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A",
        pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos_id)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
        model_max_length=131072,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_processor(tokenizer, tile_size: int = TILE_SIZE, max_tiles: int = MAX_TILES):
    """An `MllamaProcessor` around `tokenizer` whose images are cut into small tiles."""
    from transformers import MllamaImageProcessor, MllamaProcessor

    image_processor = MllamaImageProcessor(
        size={"height": tile_size, "width": tile_size}, max_image_tiles=max_tiles
    )
    return MllamaProcessor(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)


def aspect_ratios(max_tiles: int) -> List[List[int]]:
    """Every (width, height) tile arrangement of at most `max_tiles` tiles."""
    return [
        [w, h]
        for w in range(1, max_tiles + 1)
        for h in range(1, max_tiles + 1)
        if w * h <= max_tiles
    ]


def tiny_config(tokenizer) -> Dict[str, Dict]:
    """Vision and text configs small enough to generate on CPU in milliseconds."""
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    vision = dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_global_layers=1,
        attention_heads=2,
        intermediate_size=32,
        vision_output_dim=32,  # hidden_size x (1 final + 1 intermediate layer)
        intermediate_layers_indices=[0],
        image_size=TILE_SIZE,
        patch_size=14,
        max_num_tiles=MAX_TILES,
        supported_aspect_ratios=aspect_ratios(MAX_TILES),
        initializer_range=INIT_STD,
    )
    text = dict(
        vocab_size=image_id,
        hidden_size=32,
        num_hidden_layers=2,
        cross_attention_layers=[1],
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=1024,
        initializer_range=INIT_STD,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[
            tokenizer.convert_tokens_to_ids("<|end_of_text|>"),
            tokenizer.convert_tokens_to_ids("<|eom_id|>"),
            tokenizer.convert_tokens_to_ids("<|eot_id|>"),
        ],
        pad_token_id=tokenizer.pad_token_id,
    )
    return {"vision_config": vision, "text_config": text, "image_token_index": image_id}


def open_gates(model) -> None:
    """Sets every tanh gate to 1: a fresh Mllama starts with closed (zero) gates,
    so its replies would not depend on the image at all."""
    import torch

    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("gate"):  # cross_attn_attn_gate, tile/position gates
                parameter.fill_(1.0)


def save_mllama_checkpoint(model, directory: Union[str, Path], processor) -> Path:
    """Saves `model` and `processor` as a Hugging Face-format directory."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    text = model.config.text_config
    model.generation_config.eos_token_id = text.eos_token_id
    model.generation_config.pad_token_id = text.pad_token_id
    model.generation_config.bos_token_id = text.bos_token_id
    model.save_pretrained(path)  # safetensors by default
    processor.save_pretrained(path)
    return path


def build_tiny_mllama(directory: Union[str, Path]) -> Path:
    """Writes the tiny, deterministic Mllama checkpoint into `directory` and returns it."""
    import torch
    from transformers import MllamaConfig, MllamaForConditionalGeneration

    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer)
    with torch.random.fork_rng(devices=[]):  # leaves the caller's RNG state alone
        torch.manual_seed(SEED)
        model = MllamaForConditionalGeneration(MllamaConfig(**tiny_config(tokenizer)))
    open_gates(model)
    model.eval()
    return save_mllama_checkpoint(model, directory, processor)
