"""convergent: do independently trained networks learn the same representations?"""

__version__ = "0.1.0"
