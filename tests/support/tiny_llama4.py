"""A tiny, randomly initialised Llama 4 checkpoint for tests (a few hundred KB).

Same layout as the real Llama-4-Scout-17B-16E-Instruct: `Llama4ForConditionalGeneration`
(mixture-of-experts text model, vision tower), `Llama4Processor` with Meta's chat
template (transformers' own) and Llama 4's special tokens, saved in Hugging Face
format, so the in-process backend loads it through the path it loads the real
one. Tiles are 56 px (the real ones are 336), at most 4 of them plus the global
tile. Nothing is downloaded: the tokenizer is trained here, the weights are seeded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

SEED = 4321
TILE_SIZE = 56  # four 14-pixel patches a side
MAX_TILES = 4
SPECIAL_TOKENS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>",
    "<|finetune_right_pad|>", "<|python_start|>", "<|python_end|>", "<|image_start|>", "<|image_end|>",
    "<|tile_x_separator|>", "<|tile_y_separator|>", "<|image|>", "<|patch|>",
]
_CORPUS = [
    "Describe this image. Classify it as one of the classes and reply with JSON.",
    '{"class_name": "car", "confidence": 0.9} {"detections": [{"class": "bus", "box": [0.1, 0.2, 0.5, 0.6]}]}',
    "Read every piece of text visible in this image and write it out.",
]


def build_tokenizer():
    """A byte-level BPE tokenizer with Llama 4's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 20, trainer=trainer)
    bos = backend.token_to_id("<|begin_of_text|>")
    backend.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|begin_of_text|>", eos_token="<|eot|>", pad_token="<|finetune_right_pad|>"
    )


def build_tiny_llama4(directory: Union[str, Path]) -> Path:
    """Writes the tiny Llama 4 checkpoint into `directory` and returns it."""
    import torch
    from transformers import Llama4Config, Llama4ForConditionalGeneration, Llama4ImageProcessor, Llama4Processor

    tokenizer = build_tokenizer()
    processor = Llama4Processor(
        image_processor=Llama4ImageProcessor(size={"height": TILE_SIZE, "width": TILE_SIZE}, max_patches=MAX_TILES),
        tokenizer=tokenizer, patch_size=14, pixel_shuffle_ratio=0.5,
    )
    token = tokenizer.convert_tokens_to_ids
    config = Llama4Config(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=32, intermediate_size_mlp=64,
            num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
            num_local_experts=2, num_experts_per_tok=1, max_position_embeddings=4096,
            bos_token_id=token("<|begin_of_text|>"), eos_token_id=token("<|eot|>"), pad_token_id=tokenizer.pad_token_id,
        ),
        # Llama 4 requires: vision intermediate = 4 x hidden, output dim = projector dim,
        # tile = the processor's size.
        vision_config=dict(
            hidden_size=32, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
            image_size=TILE_SIZE, patch_size=14, pixel_shuffle_ratio=0.5, projector_input_dim=32,
            projector_output_dim=32, vision_output_dim=32, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        ),
        # Image features replace the <|patch|> tokens (as in the real checkpoints).
        image_token_index=token("<|patch|>"),
        boi_token_index=token("<|image_start|>"),
        eoi_token_index=token("<|image_end|>"),
    )
    with torch.random.fork_rng(devices=[]):  # leaves the caller's RNG state alone
        torch.manual_seed(SEED)
        model = Llama4ForConditionalGeneration(config).eval()
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
