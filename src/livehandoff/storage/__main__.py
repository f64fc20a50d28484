"""``python -m livehandoff.storage``: upgrade a database, show its revision, or draft a migration."""

import sys

from livehandoff.storage.migrate import main

sys.exit(main())
