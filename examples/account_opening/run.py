"""Run the account-opening example: python examples/account_opening/run.py"""

import asyncio

from workflow import main

asyncio.run(main())
