"""Analysis: collect platform data into a run, join, classify, summarise, render."""
