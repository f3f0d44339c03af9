"""Everyday sentences written for textae's app, README and tests, and kept out of every training mix.

None of them comes from a dataset: they were written for this project. `training.mix` removes any
sentence that equals one of them (compared as `mix.sentence_key` compares) from every split, so what
the app shows a visitor is always new to the model, and `training.evaluate --probes` can report them.
"""

from __future__ import annotations

# The sentences issue #21 reported as coming back wrong (the first came back exactly even then).
PROBES = (
    "The old man walked slowly to the station in the cold rain.",
    "A small dog barked at the mailman.",
    "I would like to book a table for two at an Italian restaurant tomorrow night.",
)

# The app's examples: what a visitor might type.
EVERYDAY = (
    "Can you tell me how to reset my password?",
    "My sister bought a red bicycle last summer.",
    "Please remind me to call the dentist on Monday morning.",
    "We missed the last train, so we took a taxi home.",
    "How long does it take to bake a loaf of bread?",
    "The children played in the garden until it got dark.",
)

ALL = PROBES + EVERYDAY
