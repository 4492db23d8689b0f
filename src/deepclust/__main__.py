import sys

from deepclust.cli import main

sys.exit(main())
