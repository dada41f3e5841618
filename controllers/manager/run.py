"""Run the selected controllers on one Context: start the shared informers, wait for sync, run the workers."""

from __future__ import annotations

import asyncio
import logging

from controllers.manager.context import Context, Options
from controllers.manager.registry import CONTROLLERS
from kemu.rest import RestClient

log = logging.getLogger(__name__)


async def run_controllers(client: RestClient, names: list[str], options: Options) -> None:
    ctx = Context(client, options)
    ctrls = [CONTROLLERS[n](ctx) for n in names]
    tasks = [asyncio.create_task(i.run()) for i in ctx.informers.values()]
    try:
        await ctx.wait_synced()
        log.info("caches synced; starting controllers: %s", ", ".join(names))
        await asyncio.gather(*(c.run() for c in ctrls))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in ctx.recorders.values():
            await r.flush(1.0)
            await r.close()
