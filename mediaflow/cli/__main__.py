import sys

from mediaflow.cli import main

sys.exit(main())
