"""Checkout shortcut for the training tools, which live in `textae/training/`.

`python -m training.train` (and .evaluate, .benchmark, .study, .ship, .corpus,
.attributes) runs the module of the same name in `textae.training`, exactly as
`python -m textae.training.train` or the installed `textae-train` command do:
this package borrows that package's search path instead of copying each file.
Code should import `textae.training`, not this package.
"""

import textae.training

__path__ = textae.training.__path__
