"""Llama 3.2 Vision in this process with `transformers`: checkpoint, model cache,
micro-batcher, generation, and the backend (`backend.py`, which holds the spec)."""
