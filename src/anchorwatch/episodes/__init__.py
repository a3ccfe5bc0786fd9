"""Episodes and outcomes: the conversation level of DESIGN 1.2."""
