import sys

from pagelab.cli import main

sys.exit(main())
