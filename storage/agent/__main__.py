"""`python -m storage.agent`: see storage.agent.run."""

from __future__ import annotations

import sys

from storage.agent.run import main

sys.exit(main())
