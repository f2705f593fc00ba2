"""`python -m ops ARGS` is `./deploy.sh ARGS` once the virtualenv exists."""

import sys

from ops.cli import main

sys.exit(main())
