"""docs/reference.md is generated from the manifest and must match it."""

from llama_vision_block.manifest import BlockManifest
from llama_vision_block.reference import PAGE, render_reference

# The seed page's Refs column for the seed's own properties.
SEED_REFS = {
    "name": "❌", "task_type": "❌", "prompt": "✅", "output_structure": "❌", "classes": "✅",
    "api_key": "✅", "model_version": "✅", "max_tokens": "❌", "temperature": "✅",
    "max_concurrent_requests": "❌",
}


def test_checked_in_reference_page_is_up_to_date():
    assert PAGE.read_text(encoding="utf-8") == render_reference(), (
        "docs/reference.md is out of date: run `.venv/bin/python -m llama_vision_block.reference`"
    )


def _property_rows():
    rows = {}
    for line in render_reference().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_property_is_in_the_table_with_the_seed_refs():
    rows = _property_rows()
    fields = set(BlockManifest.model_fields) - {"type", "images"}
    assert fields <= set(rows)
    assert {name: rows[name][-1] for name in SEED_REFS} == SEED_REFS


def test_outputs_and_example_are_listed():
    page = render_reference()
    for output in BlockManifest.describe_outputs():
        assert f"`{output.name}` (" in page
    assert '"type": "llama_vision_block/llama_3_2_vision@v1"' in page
    assert "`roboflow_core/llama_3_2_vision@v1`" in page
