"""The lab's runs as a data service: run folders served by Tiled (the ``serve`` extra).

``tree``: the folders as a Tiled tree; ``server``: the app, its exposure, serving;
``client``: listing and fetching runs from a server. See ``docs/lab-service.md``.
"""
