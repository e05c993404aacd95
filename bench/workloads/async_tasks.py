"""An asyncio service under load: 400 concurrent requests, each parsing and rendering
JSON between awaits, profiled from inside the serving task with async_mode="enabled" —
the case async mode exists for.

    python async_tasks.py none|callscope|pyinstrument
"""
import asyncio
import importlib
import json
import sys

PAYLOAD = json.dumps({"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(40)]})


def render(doc):
    return "".join(f"<li>{item['name']} ({', '.join(item['tags'])})</li>" for item in doc["items"])


async def request(n):
    size = 0
    for step in range(60):
        doc = json.loads(PAYLOAD)
        size += len(render(doc))
        # Waiting on the network: mostly other requests' turns, now and then a real wait.
        await asyncio.sleep(0.001 if step % 10 == 0 else 0)
    return size


async def serve():
    return sum(await asyncio.gather(*(request(n) for n in range(400))))


async def main(profiler_name):
    if profiler_name == "none":
        return await serve()
    profiler = importlib.import_module(profiler_name).Profiler(async_mode="enabled")
    profiler.start()
    total = await serve()
    profiler.stop()
    return total


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "none"))
