"""``python -m pytest_logscale`` is ``pytest-logscale``."""

import sys

from .cli import main

sys.exit(main())
