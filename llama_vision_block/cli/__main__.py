"""`python -m llama_vision_block.cli`, the same as the `llama-vision` script."""

import sys

from llama_vision_block.cli import main

sys.exit(main())
