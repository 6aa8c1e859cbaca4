import sys

from kerasft.cli.main import main

sys.exit(main())
