"""The aiohttp shell: routes, handlers and middlewares over the pure core."""
