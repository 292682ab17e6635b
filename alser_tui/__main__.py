import sys

from alser_tui.cli import main

sys.exit(main())
