"""Lambda entry points: thin, about 20 lines each."""
