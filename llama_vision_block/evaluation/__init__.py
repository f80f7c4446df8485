"""Scoring the block's answers against labelled images (`llama-vision eval`).

`labelled` reads a labelled dataset in the formats the ecosystem uses, `scores`
turns truths and answers into figures with the field's own libraries. Neither is
imported by the block: `import llama_vision_block` stays light.
"""
