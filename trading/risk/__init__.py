"""Risk: the pure pre-trade gate every order passes, its limits and its trading states."""
