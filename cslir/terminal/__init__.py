"""What a responder sees and types: the console (``console``), interactive prompts
(``prompts``), the walkthrough's flow (``walkthrough``), step cards and event lines
(``stepview``), and the status view shared by ``cslir status`` and the walkthrough
(``statusview``).

It may import every layer below it (``runs`` and what ``runs`` may import); not ``commands``.
"""
