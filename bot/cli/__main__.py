"""`python -m bot.cli`: the `newsbot` command."""

import sys

from . import main

sys.exit(main())
