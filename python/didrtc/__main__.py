"""``python -m didrtc``: the same as the ``didrtc`` command."""

import sys

from didrtc.cli import main

sys.exit(main())
