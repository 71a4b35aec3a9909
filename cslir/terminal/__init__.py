"""What a responder sees and types: the console, interactive prompts, the walkthrough and the
status view shared by ``cslir status`` and the walkthrough.

It may import every layer below it (``runs`` and what ``runs`` may import); not ``commands``.
"""
