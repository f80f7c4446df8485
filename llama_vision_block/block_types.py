"""The block's type identifiers: its own, and the seed block's that it answers to too."""

BLOCK_TYPE = "llama_vision_block/llama_3_2_vision@v1"
# Workflow JSON written for inference's own (now deprecated) block keeps working.
SEED_BLOCK_TYPE = "roboflow_core/llama_3_2_vision@v1"
